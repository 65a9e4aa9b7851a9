/**
 * A prompt word's context menu (issue 17 §3): right-click a word chip, or press the context-menu
 * key / Shift+F10 on it (WordChips `onMenu`), for the word's weight (0–3, used by the next
 * Generate) and **Knock out** (KnockoutPanel runs it). Caller: WordsPanel, for the prompt's chips.
 * A small non-modal dialog next to the chip: focus goes to the slider; Esc, a click outside or
 * Tab past the last control closes it and gives focus back to the chip.
 */
import { useEffect, useLayoutEffect, useRef, useState } from 'react'
import { WeightRange, weightOf, withWeight } from './WordWeight'

export function ChipMenu({
  word,
  anchor,
  weights,
  onWeights,
  onKnockOut,
  knockOutBlocked,
  onClose,
}: {
  word: string
  /** The chip the menu belongs to: placed under it, focused again when the menu closes. */
  anchor: HTMLElement
  weights: Record<string, number>
  onWeights: (weights: Record<string, number>) => void
  onKnockOut: () => void
  /** Why Knock out cannot run now (a generation or knock-out runs), else undefined. */
  knockOutBlocked?: string
  onClose: () => void
}): React.JSX.Element {
  const ref = useRef<HTMLDivElement>(null)
  const slider = useRef<HTMLInputElement>(null)
  const [pos, setPos] = useState<{ left: number; top: number }>(() => place(anchor))
  const value = weightOf(weights, word)
  const close = (): void => {
    onClose()
    anchor.focus()
  }

  useLayoutEffect(() => {
    setPos(place(anchor, ref.current))
    slider.current?.focus()
  }, [anchor])
  useEffect(() => {
    const outside = (e: PointerEvent): void => {
      if (ref.current && !ref.current.contains(e.target as Node) && e.target !== anchor) onClose()
    }
    const away = (): void => onClose()
    document.addEventListener('pointerdown', outside, true)
    window.addEventListener('resize', away)
    return () => {
      document.removeEventListener('pointerdown', outside, true)
      window.removeEventListener('resize', away)
    }
  }, [anchor, onClose])

  return (
    <div
      ref={ref}
      className="chip-menu"
      role="dialog"
      aria-label={`Word “${word}”`}
      data-testid="chip-menu"
      style={{ left: pos.left, top: pos.top }}
      onKeyDown={(e) => {
        if (e.key === 'Escape') {
          e.preventDefault()
          e.stopPropagation()
          close()
        }
      }}
      onBlur={(e) => {
        // focus left the menu (Tab past its last control): close, as a menu does
        if (e.relatedTarget && !ref.current?.contains(e.relatedTarget as Node)) onClose()
      }}
    >
      <div className="chip-menu-title">“{word}”</div>
      <label className="chip-menu-weight">
        <span>Weight</span>
        <WeightRange
          inputRef={slider}
          word={word}
          value={value}
          onChange={(w) => onWeights(withWeight(weights, word, w))}
        />
        <output data-testid="chip-menu-weight">{value.toFixed(1)}</output>
      </label>
      <div className="chip-menu-row">
        {[0, 0.5, 1, 1.5, 2].map((w) => (
          <button
            key={w}
            type="button"
            className={`link${w === value ? ' current' : ''}`}
            aria-pressed={w === value}
            onClick={() => onWeights(withWeight(weights, word, w))}
          >
            {w}
          </button>
        ))}
      </div>
      <p className="muted small">applies at the next Generate</p>
      <button
        type="button"
        data-testid="chip-menu-knockout"
        disabled={!!knockOutBlocked}
        title={knockOutBlocked}
        onClick={() => {
          onKnockOut()
          close()
        }}
      >
        Knock out “{word}”
      </button>
    </div>
  )
}

/** Under the chip, kept inside the window (the menu's own size once it is drawn). */
function place(anchor: HTMLElement, menu?: HTMLElement | null): { left: number; top: number } {
  const r = anchor.getBoundingClientRect()
  const w = menu?.offsetWidth ?? 220
  const h = menu?.offsetHeight ?? 140
  const left = Math.max(4, Math.min(r.left, window.innerWidth - w - 4))
  const below = r.bottom + 4
  const top = below + h > window.innerHeight - 4 ? Math.max(4, r.top - h - 4) : below
  return { left, top }
}
