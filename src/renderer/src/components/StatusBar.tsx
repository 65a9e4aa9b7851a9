import type { AppInfoState } from '../useAppInfo'

export function StatusBar({ state, note }: { state: AppInfoState; note: string | null }): React.JSX.Element {
  if (state.status === 'loading') return <footer className="statusbar">Connecting to the main process…</footer>
  if (state.status === 'error') {
    return (
      <footer className="statusbar error" data-testid="status-error">
        Main process unavailable: {state.error.message}
      </footer>
    )
  }
  const { info } = state
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
