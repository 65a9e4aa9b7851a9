import { useEffect, useRef } from 'react'
import type { ProgressEvent } from '../../../shared/ipc/payloads'

function seconds(ms: number): string {
  return ms < 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 1000)} s`
}

/** Progress bar with step count and ETA, the live preview, and Cancel. */
export function ProgressPanel({ progress, onCancel }: { progress: ProgressEvent | null; onCancel: () => void }): React.JSX.Element {
  const canvas = useRef<HTMLCanvasElement>(null)
  const preview = progress?.preview
  useEffect(() => {
    const c = canvas.current
    if (!c || !preview) return
    c.width = preview.width
    c.height = preview.height
    const img = new ImageData(preview.width, preview.height)
    for (let i = 0, j = 0; i < preview.width * preview.height; i++, j += 3) {
      img.data[i * 4] = preview.rgb[j]!
      img.data[i * 4 + 1] = preview.rgb[j + 1]!
      img.data[i * 4 + 2] = preview.rgb[j + 2]!
      img.data[i * 4 + 3] = 255
    }
    c.getContext('2d')?.putImageData(img, 0, 0)
  }, [preview])

  const fraction = progress ? progress.step / progress.total : 0
  return (
    <div className="progress-panel" data-testid="progress" role="status" aria-live="polite">
      <canvas ref={canvas} className="live-preview" aria-label="Live preview" width={16} height={16} />
      <div className="progress-body">
        <div className="progress-text">
          {progress ? (
            <>
              Step <b data-testid="progress-step">{progress.step}</b> / {progress.total}
              <span className="muted"> · ETA {seconds(progress.etaMs)} · {seconds(progress.elapsedMs)} elapsed</span>
            </>
          ) : (
            'Preparing…'
          )}
        </div>
        <div className="progress-bar" role="progressbar" aria-valuemin={0} aria-valuemax={100} aria-valuenow={Math.round(fraction * 100)}>
          <div style={{ width: `${fraction * 100}%` }} />
        </div>
      </div>
      <button type="button" className="danger" data-testid="cancel" onClick={onCancel}>
        Cancel <kbd>Esc</kbd>
      </button>
    </div>
  )
}
