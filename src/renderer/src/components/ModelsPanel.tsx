/**
 * The Models panel (model menu → "Models…", or Ctrl/Cmd+M): installed models with use / reveal /
 * delete, "Add from the Hub" (a curated list and any owner/name[@rev][:subfolder], checked and
 * sized before downloading), downloads with progress, pause/resume/cancel, and the library's
 * settings (models folder, Hub endpoint, offline switch, Hub token). Everything goes through
 * window.api.library.*; the main process does the network and disk work. Caller: App.tsx.
 */
import { useEffect, useRef, useState } from 'react'
import type { DownloadSnapshot, InstallPlan, InstalledModel, IpcError } from '../../../shared/ipc/contract'
import { useLibrary } from '../state/use-library'

export function formatBytes(bytes: number): string {
  if (bytes >= 1e9) return `${(bytes / 1e9).toFixed(2)} GB`
  if (bytes >= 1e6) return `${(bytes / 1e6).toFixed(1)} MB`
  return `${Math.max(0, Math.round(bytes / 1e3))} kB`
}

function eta(seconds: number | null): string {
  if (seconds === null) return ''
  return seconds < 90 ? ` · ${seconds} s left` : ` · ${Math.round(seconds / 60)} min left`
}

interface Props {
  currentDir: string | null
  busy: boolean
  onClose: () => void
  onUse: (dir: string) => Promise<void>
  onError: (error: IpcError) => void
}

export function ModelsPanel({ currentDir, busy, onClose, onUse, onError }: Props): React.JSX.Element {
  const lib = useLibrary(true)
  const dialog = useRef<HTMLDivElement>(null)
  const [spec, setSpec] = useState('')
  const [plan, setPlan] = useState<InstallPlan | null>(null)
  const [checking, setChecking] = useState(false)
  const [problem, setProblem] = useState<string | null>(null)
  const [confirmDelete, setConfirmDelete] = useState<string | null>(null)
  const [token, setToken] = useState('')

  useEffect(() => dialog.current?.focus(), [])

  const call = async <T,>(p: Promise<{ ok: true; value: T } | { ok: false; error: IpcError }>): Promise<T | null> => {
    const r = await p
    if (!r.ok) {
      onError(r.error)
      return null
    }
    return r.value
  }

  const check = async (text: string): Promise<void> => {
    setSpec(text)
    setPlan(null)
    setProblem(null)
    setChecking(true)
    const r = await window.api.library.inspect({ spec: text })
    setChecking(false)
    if (r.ok) setPlan(r.value)
    else setProblem(r.error.message)
  }

  const download = async (): Promise<void> => {
    if (!plan) return
    const r = await window.api.library.add({ spec: plan.spec })
    if (!r.ok) return setProblem(r.error.message)
    setPlan(null)
    setSpec('')
    await lib.refresh()
  }

  const settings = lib.state?.settings
  const updateSettings = async (patch: { modelsDir?: string; endpoint?: string | null; offline?: boolean }) => {
    if (await call(window.api.library.settings(patch))) await lib.refresh()
  }

  return (
    <div className="modal-backdrop" onMouseDown={(e) => e.target === e.currentTarget && onClose()}>
      <div
        className="modal models-panel"
        role="dialog"
        aria-modal="true"
        aria-label="Models"
        data-testid="models-panel"
        tabIndex={-1}
        ref={dialog}
        onKeyDown={(e) => {
          if (e.key === 'Escape') {
            e.stopPropagation()
            onClose()
          }
        }}
      >
        <div className="modal-head">
          <h2>Models</h2>
          <button type="button" className="small" onClick={onClose} data-testid="models-close">
            Close
          </button>
        </div>
        {lib.error && <p className="banner error">{lib.error.message}</p>}

        <div className="section-label">Installed</div>
        <Installed
          models={lib.state?.installed ?? []}
          folder={settings?.modelsDir ?? ''}
          currentDir={currentDir}
          busy={busy}
          confirmDelete={confirmDelete}
          setConfirmDelete={setConfirmDelete}
          onUse={onUse}
          onReveal={(name) => void call(window.api.library.reveal({ name }))}
          onDelete={async (name) => {
            setConfirmDelete(null)
            if (await call(window.api.library.remove({ name }))) await lib.refresh()
          }}
        />

        {lib.downloads.length > 0 && <div className="section-label">Downloads</div>}
        {lib.downloads.map((d) => (
          <Download
            key={d.id}
            d={d}
            onPause={() => void call(window.api.library.pause({ id: d.id }))}
            onResume={() => void call(window.api.library.resume({ id: d.id }))}
            onCancel={async () => {
              await call(window.api.library.cancel({ id: d.id }))
              await lib.refresh()
            }}
          />
        ))}

        {settings && !settings.offline && (
          <>
            <div className="section-label">Add from the Hub</div>
            <ul className="curated" data-testid="curated">
              {lib.state!.curated.map((c) => (
                <li key={c.spec}>
                  <div>
                    <b>{c.name}</b> <code>{c.spec}</code>
                    <div className="muted small">
                      {c.description} ~{formatBytes(c.approxBytes)} (approximate) · heat maps: {c.maps ? 'yes' : 'no'}.{' '}
                      {c.note}
                    </div>
                  </div>
                  <button type="button" className="small" disabled={checking} onClick={() => void check(c.spec)}>
                    Check
                  </button>
                </li>
              ))}
            </ul>
            <form
              className="hub-add"
              onSubmit={(e) => {
                e.preventDefault()
                if (spec.trim()) void check(spec.trim())
              }}
            >
              <input
                data-testid="hub-spec"
                aria-label="Hub repository"
                placeholder="owner/name[@revision][:subfolder]"
                value={spec}
                onChange={(e) => setSpec(e.target.value)}
              />
              <button type="submit" data-testid="hub-check" disabled={checking || !spec.trim()}>
                {checking ? 'Checking…' : 'Check'}
              </button>
            </form>
            {problem && (
              <p className="banner error" role="alert" data-testid="hub-problem">
                {problem}
              </p>
            )}
            {plan && (
              <div className="plan" data-testid="hub-plan">
                <div>
                  <b>{plan.spec}</b> at <code>{plan.commit.slice(0, 8)}</code>: installs as <b>{plan.name}</b>
                </div>
                <div>
                  {plan.files.length} files, <b>{formatBytes(plan.totalBytes)}</b> to download ·{' '}
                  {formatBytes(plan.freeBytes)} free
                  {!plan.fits && <span className="danger-text"> — not enough space</span>}
                </div>
                {plan.skipped.length > 0 && (
                  <div className="muted small">
                    Skipped: {plan.skipped.length} files ({formatBytes(plan.skipped.reduce((s, f) => s + f.size, 0))}
                    ): {[...new Set(plan.skipped.map((s) => s.reason))].join('; ')}
                  </div>
                )}
                <button
                  type="button"
                  className="primary"
                  data-testid="hub-download"
                  disabled={!plan.fits}
                  onClick={() => void download()}
                >
                  Download {formatBytes(plan.totalBytes)}
                </button>
              </div>
            )}
          </>
        )}

        {settings && (
          <details className="library-settings">
            <summary>Settings</summary>
            <label className="field">
              <span>Models folder</span>
              <input
                defaultValue={settings.modelsDir}
                onBlur={(e) =>
                  e.target.value !== settings.modelsDir && void updateSettings({ modelsDir: e.target.value })
                }
              />
            </label>
            <label className="field">
              <span>Hub endpoint{settings.endpointFromEnv && ' (set by HF_ENDPOINT)'}</span>
              <input
                defaultValue={settings.endpoint}
                disabled={settings.endpointFromEnv}
                onBlur={(e) =>
                  e.target.value !== settings.endpoint && void updateSettings({ endpoint: e.target.value })
                }
              />
            </label>
            <label className="check">
              <input
                type="checkbox"
                data-testid="hub-offline"
                checked={settings.offline}
                onChange={(e) => void updateSettings({ offline: e.target.checked })}
              />{' '}
              Offline: hide the Hub
            </label>
            <form
              className="field"
              onSubmit={async (e) => {
                e.preventDefault()
                if (await call(window.api.library.setToken({ token: token.trim() || null }))) {
                  setToken('')
                  await lib.refresh()
                }
              }}
            >
              <span>
                Hub token (for gated repositories): {settings.tokenStored ? 'stored' : 'none'}
                {settings.tokenStorage ? ', encrypted by the OS' : ', kept for this session only (no OS keychain)'}
              </span>
              <div className="hub-add">
                <input
                  type="password"
                  autoComplete="off"
                  placeholder="hf_…"
                  value={token}
                  onChange={(e) => setToken(e.target.value)}
                />
                <button type="submit" className="small">
                  {token ? 'Store' : 'Forget'}
                </button>
              </div>
            </form>
          </details>
        )}
      </div>
    </div>
  )
}

function Installed(props: {
  models: InstalledModel[]
  folder: string
  currentDir: string | null
  busy: boolean
  confirmDelete: string | null
  setConfirmDelete: (name: string | null) => void
  onUse: (dir: string) => Promise<void>
  onReveal: (name: string) => void
  onDelete: (name: string) => Promise<void>
}): React.JSX.Element {
  if (!props.models.length) {
    return <p className="muted small">No models installed in {props.folder} yet. Add one from the Hub below.</p>
  }
  return (
    <table className="installed" data-testid="installed">
      <thead>
        <tr>
          <th>Name</th>
          <th>On disk</th>
          <th>Size</th>
          <th>Provider</th>
          <th>Attention layers</th>
          <th>Heat maps</th>
          <th />
        </tr>
      </thead>
      <tbody>
        {props.models.map((m) => {
          const current = m.inUse || m.dir === props.currentDir
          return (
            <tr key={m.name} data-testid={`installed-${m.name}`}>
              <td title={m.source ? `${m.source.spec} @ ${m.source.commit}` : m.dir}>
                {m.name} {current && <span className="pill">in use</span>}
                {m.problem && <div className="danger-text small">{m.problem}</div>}
              </td>
              <td>{formatBytes(m.bytesOnDisk)}</td>
              <td>{m.width ? `${m.width}×${m.height}` : '—'}</td>
              <td>{m.provider ? m.provider.toUpperCase() : 'on load'}</td>
              <td>{m.attentionLayers}</td>
              <td title={m.mapsNote}>{m.maps ? 'yes' : 'no'}</td>
              <td className="row-actions">
                {props.confirmDelete === m.name ? (
                  <>
                    <span className="small">Delete {m.name}?</span>
                    <button
                      type="button"
                      className="small danger"
                      data-testid="confirm-delete"
                      onClick={() => void props.onDelete(m.name)}
                    >
                      Delete
                    </button>
                    <button type="button" className="small" onClick={() => props.setConfirmDelete(null)}>
                      Keep
                    </button>
                  </>
                ) : (
                  <>
                    <button
                      type="button"
                      className="small"
                      data-testid={`use-${m.name}`}
                      disabled={current || props.busy || !!m.problem}
                      onClick={() => void props.onUse(m.dir)}
                    >
                      Use
                    </button>
                    <button type="button" className="small" onClick={() => props.onReveal(m.name)}>
                      Reveal
                    </button>
                    <button
                      type="button"
                      className="small"
                      data-testid={`delete-${m.name}`}
                      disabled={current}
                      title={current ? 'Switch to another model before deleting this one' : undefined}
                      onClick={() => props.setConfirmDelete(m.name)}
                    >
                      Delete…
                    </button>
                  </>
                )}
              </td>
            </tr>
          )
        })}
      </tbody>
    </table>
  )
}

function Download(props: {
  d: DownloadSnapshot
  onPause: () => void
  onResume: () => void
  onCancel: () => void
}): React.JSX.Element {
  const { d } = props
  const pct = d.totalBytes ? Math.floor((d.doneBytes / d.totalBytes) * 100) : 0
  const file = d.files.find((f) => f.state === 'downloading')
  const running = d.state === 'downloading' || d.state === 'installing'
  return (
    <div className="download" data-testid={`download-${d.name}`} data-state={d.state}>
      <div className="download-head">
        <b>{d.name}</b> <span className="muted small">{d.spec}</span>
        <span className="download-state">{d.state}</span>
      </div>
      <div className="progress-bar" role="progressbar" aria-valuemin={0} aria-valuemax={100} aria-valuenow={pct}>
        <div style={{ width: `${pct}%` }} />
      </div>
      <div className="small muted" data-testid="download-text">
        {pct}% · {formatBytes(d.doneBytes)} of {formatBytes(d.totalBytes)}
        {d.state === 'downloading' && ` · ${formatBytes(d.speed)}/s${eta(d.etaSeconds)}`}
        {file && ` · ${file.path} ${formatBytes(file.done)} / ${formatBytes(file.size)}`}
        {' · '}
        {d.files.filter((f) => f.state === 'verified').length}/{d.files.length} files verified
      </div>
      {d.error && <div className="danger-text small">{d.error.message}</div>}
      <div className="row-actions">
        {d.state === 'downloading' && (
          <button type="button" className="small" data-testid="download-pause" onClick={props.onPause}>
            Pause
          </button>
        )}
        {(d.state === 'paused' || (d.state === 'failed' && d.error?.code === 'network')) && (
          <button type="button" className="small" data-testid="download-resume" onClick={props.onResume}>
            Resume
          </button>
        )}
        {!running && d.state !== 'cancelled' && (
          <button type="button" className="small" data-testid="download-cancel" onClick={props.onCancel}>
            {d.state === 'failed' || d.state === 'done' ? 'Dismiss' : 'Cancel'}
          </button>
        )}
        {running && (
          <button type="button" className="small" data-testid="download-cancel" onClick={props.onCancel}>
            Cancel
          </button>
        )}
      </div>
    </div>
  )
}
