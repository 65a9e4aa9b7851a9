import { useId, useState } from 'react'
import { useAppInfo, type AppInfoState } from './useAppInfo'

export const DEMO_PROMPT = 'a snowman wearing a red hat and a blue scarf around its neck'
const MAX_PROMPT = 500

export function App(): React.JSX.Element {
  const [prompt, setPrompt] = useState('')
  const appInfo = useAppInfo()
  const promptId = useId()
  const words = (prompt.trim() || DEMO_PROMPT).split(/\s+/)

  return (
    <div className="app">
      <header className="topbar">
        <div className="brand">
          <span className="brand-mark" aria-hidden="true" />
          <h1>DAAM Studio</h1>
          <span className="tagline">See, word by word, where the model looks</span>
        </div>
        <ModelBadge state={appInfo} />
      </header>

      <main className="workspace">
        <aside className="panel" aria-label="Prompt">
          <label className="section-label" htmlFor={promptId}>
            Prompt
          </label>
          <textarea
            id={promptId}
            className="prompt"
            data-testid="prompt"
            placeholder={DEMO_PROMPT}
            value={prompt}
            maxLength={MAX_PROMPT}
            rows={5}
            spellCheck={false}
            onChange={(e) => setPrompt(e.target.value)}
          />
          <div className="prompt-footer">
            <span className="counter">
              {prompt.length} / {MAX_PROMPT}
            </span>
            <button
              type="button"
              className="primary"
              disabled
              title="Image generation arrives with the inference engine"
            >
              Generate
            </button>
          </div>

          <div className="section-label">Words</div>
          <ul className={prompt.trim() ? 'words' : 'words placeholder'} aria-label="Prompt words">
            {words.map((word, i) => (
              <li key={`${i}-${word}`} className="word">
                {word}
              </li>
            ))}
          </ul>
          <p className="hint">
            After generating, pick a word to see the heat map of where it attended in the image.
          </p>
        </aside>

        <section className="stage" aria-label="Image">
          <div className="canvas" data-testid="image-area">
            <div className="canvas-empty">
              <div className="canvas-icon" aria-hidden="true" />
              <p>Your image will appear here</p>
              <p className="muted">Type a prompt, then generate. Everything runs on this machine.</p>
            </div>
          </div>
        </section>
      </main>

      <StatusBar state={appInfo} />
    </div>
  )
}

function ModelBadge({ state }: { state: AppInfoState }): React.JSX.Element {
  if (state.status !== 'ready') return <span className="badge">Model: …</span>
  const { exists } = state.info.bundledModel
  return (
    <span
      className={exists ? 'badge ok' : 'badge warn'}
      title={state.info.bundledModel.path}
      data-testid="model-badge"
    >
      {exists ? 'Bundled model ready' : 'Bundled model not found'}
    </span>
  )
}

function StatusBar({ state }: { state: AppInfoState }): React.JSX.Element {
  if (state.status === 'loading') {
    return <footer className="statusbar">Connecting to the main process…</footer>
  }
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
      <span>
        {info.name} {info.version}
      </span>
      <span>
        ONNX Runtime <b data-testid="ort-version">{info.versions.onnxruntime}</b>
      </span>
      <span>
        sharp {info.versions.sharp} · libvips {info.versions.vips}
      </span>
      <span>Node {info.versions.node}</span>
      {info.versions.electron && <span>Electron {info.versions.electron}</span>}
      <span>
        {info.platform}/{info.arch}
      </span>
    </footer>
  )
}
