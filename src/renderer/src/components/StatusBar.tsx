import type { GenerationPayload } from '../../../shared/ipc/payloads'
import type { AppInfoState } from '../use-app-info'

/** What runs now ('Generating…'), else a summary of the shown generation, else nothing. */
function noteFor(activity: string | null, shown: GenerationPayload | null): string | null {
  if (activity) return activity
  if (!shown) return null
  const seconds = (shown.timings.totalMs / 1000).toFixed(1)
  return `${shown.width}×${shown.height} · ${shown.params.steps} steps · ${seconds} s · ${shown.provider.toUpperCase()}`
}

/** Versions of the main process's parts, and what the app is doing or showing. */
export function StatusBar({
  state,
  activity,
  shown,
}: {
  state: AppInfoState
  activity: string | null
  shown: GenerationPayload | null
}): React.JSX.Element {
  if (state.status === 'loading') return <footer className="statusbar">Connecting to the main process…</footer>
  if (state.status === 'error') {
    return (
      <footer className="statusbar error" data-testid="status-error">
        Main process unavailable: {state.error.message}
      </footer>
    )
  }
  const { info } = state
  const note = noteFor(activity, shown)
  return (
    <footer className="statusbar" data-testid="statusbar">
      {note && (
        <span className="status-note" data-testid="status-note">
          {note}
        </span>
      )}
      <span>
        {info.name} {info.version}
      </span>
      <span>
        ONNX Runtime <b data-testid="ort-version">{info.versions.onnxruntime}</b>
      </span>
      <span>
        sharp {info.versions.sharp} · libvips {info.versions.vips}
      </span>
      {info.versions.electron && <span>Electron {info.versions.electron}</span>}
      <span>
        {info.platform}/{info.arch}
      </span>
    </footer>
  )
}
