import { useEffect, useRef, useState } from 'react'
import type { ModelState } from '../state/use-model'

/** Badge with the current model; its menu opens a folder or a recent model. */
export function ModelPicker({
  state,
  disabled,
  onOpen,
  onModels,
}: {
  state: ModelState
  disabled: boolean
  onOpen: (dir?: string) => void
  /** Opens the Models panel (installed models, the Hub). */
  onModels: () => void
}): React.JSX.Element {
  const [open, setOpen] = useState(false)
  const root = useRef<HTMLDivElement>(null)
  useEffect(() => {
    if (!open) return
    const close = (e: MouseEvent): void => {
      if (!root.current?.contains(e.target as Node)) setOpen(false)
    }
    document.addEventListener('mousedown', close)
    return () => document.removeEventListener('mousedown', close)
  }, [open])

  const m = state.model
  const label = state.loading ? 'Loading model…' : m ? m.name : 'No model'
  return (
    <div className="model-picker" ref={root} onKeyDown={(e) => e.key === 'Escape' && setOpen(false)}>
      <button
        type="button"
        className={m ? 'badge ok' : 'badge warn'}
        data-testid="model-badge"
        aria-haspopup="menu"
        aria-expanded={open}
        onClick={() => setOpen(!open)}
        title={m?.dir}
      >
        <span className="badge-title">{label}</span>
        {m && (
          <span className="badge-detail" data-testid="model-detail">
            {m.kind && `${m.kind} · `}
            {m.width}×{m.height} · {m.provider.toUpperCase()} ·{' '}
            {m.layers.length === 0
              ? 'no heat maps'
              : m.recomputedAttention
                ? `heat maps (recomputed from fused attention), ${m.layers.length} layers`
                : `${m.layers.length} attention layers`}
          </span>
        )}
      </button>
      {open && (
        <div className="menu" role="menu">
          <button
            type="button"
            role="menuitem"
            data-testid="open-model"
            disabled={disabled}
            onClick={() => {
              setOpen(false)
              onOpen()
            }}
          >
            Open model folder…
          </button>
          <button
            type="button"
            role="menuitem"
            data-testid="open-models-panel"
            onClick={() => {
              setOpen(false)
              onModels()
            }}
          >
            Models… <kbd>Ctrl+M</kbd>
          </button>
          {state.recent.length > 0 && <div className="menu-label">Recent</div>}
          {state.recent.map((r) => (
            <button
              key={r.dir}
              type="button"
              role="menuitem"
              disabled={disabled || r.dir === m?.dir}
              title={r.dir}
              onClick={() => {
                setOpen(false)
                onOpen(r.dir)
              }}
            >
              {r.name}
              <span className="muted small"> {r.dir}</span>
            </button>
          ))}
        </div>
      )}
    </div>
  )
}
