import type { ProgressEvent } from '../../../shared/ipc/payloads'
import { usePreviewCanvas } from './use-preview-canvas'

function seconds(ms: number): string {
  return ms < 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 1000)} s`
}

/** Progress bar with step count and ETA, a small live preview, and Cancel. */
export function ProgressPanel({
  progress,
  onCancel,
}: {
  progress: ProgressEvent | null
  onCancel: () => void
}): React.JSX.Element {
  const canvas = usePreviewCanvas(progress?.preview)
  const fraction = progress ? progress.step / progress.total : 0
  return (
    <div className="progress-panel" data-testid="progress" role="status" aria-live="polite">
      <canvas ref={canvas} className="live-preview" aria-label="Live preview" width={16} height={16} />
      <div className="progress-body">
        <div className="progress-text">
          {progress ? (
            <>
              Step <b data-testid="progress-step">{progress.step}</b> / {progress.total}
              <span className="muted">
                {' '}
                · {progress.warmingUp ? 'warming up' : `ETA ${seconds(progress.etaMs)}`} · {seconds(progress.elapsedMs)}{' '}
                elapsed
              </span>
            </>
          ) : (
            'Preparing…'
          )}
        </div>
        <div
          className="progress-bar"
          role="progressbar"
          aria-valuemin={0}
          aria-valuemax={100}
          aria-valuenow={Math.round(fraction * 100)}
        >
          <div style={{ width: `${fraction * 100}%` }} />
        </div>
      </div>
      <button type="button" className="danger" data-testid="cancel" onClick={onCancel}>
        Cancel <kbd>Esc</kbd>
      </button>
    </div>
  )
}
