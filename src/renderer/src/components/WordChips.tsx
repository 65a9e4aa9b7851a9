import type { StreamName } from '../../../shared/attention-record'
import { SETTLED_IOU, type SettlingCurve } from '../../../shared/heatmap/settling'
import type { WordChip } from '../../../shared/ipc/payloads'
import type { ChipSelection } from '../state/overlay-spec'

interface Props {
  label: string
  testId: string
  stream: StreamName
  chips: WordChip[]
  selection: ChipSelection
  /** Hue of each picked chip (one per composite word), as CSS colours. */
  colors: string[]
  onPick: (stream: StreamName, index: number, additive: boolean) => void
  /** Settling curves of picked chips (by chip index): a sparkline under the chip. */
  settling?: ReadonlyMap<number, SettlingCurve>
  /** The chip's context menu (right-click, context-menu key, Shift+F10): weight and Knock out. */
  onMenu?: (index: number, chip: HTMLElement) => void
}

/** IoU with the final mask per step, as a small line (0 at the bottom, 1 at the top). */
function Sparkline({ curve, word }: { curve: SettlingCurve; word: string }): React.JSX.Element {
  const w = 64
  const h = 14
  const n = curve.iou.length
  const points = curve.iou
    .map((v, i) => `${n > 1 ? ((i / (n - 1)) * w).toFixed(1) : 0},${((1 - v) * (h - 2) + 1).toFixed(1)}`)
    .join(' ')
  const y90 = (1 - SETTLED_IOU) * (h - 2) + 1
  return (
    <span className="settling" data-testid="settling" data-word={word} data-settled-at={curve.settledAt}>
      <svg width={w} height={h} viewBox={`0 0 ${w} ${h}`} role="img" aria-label={`Settling curve of ${word}`}>
        <line x1={0} x2={w} y1={y90} y2={y90} className="settling-target" />
        <polyline points={points} className="settling-line" />
      </svg>
      <span className="settling-step" title={`IoU with the final mask reaches ${SETTLED_IOU} and stays there`}>
        settles at step {curve.settledAt}/{n}
      </span>
    </span>
  )
}

/**
 * The prompt's words in prompt order, as typed. Click shows one word's map; Shift/Ctrl/Cmd-click
 * adds it to (or removes it from) a composite. Disabled chips stay focusable so their reason can
 * be read with the keyboard too.
 */
export function WordChips({
  label,
  testId,
  stream,
  chips,
  selection,
  colors,
  onPick,
  settling,
  onMenu,
}: Props): React.JSX.Element {
  return (
    <ul className="words" aria-label={label} data-testid={testId}>
      {chips.map((chip) => {
        const order = selection.stream === stream ? selection.indices.indexOf(chip.index) : -1
        const selected = order >= 0
        const disabled = !!chip.disabledReason
        return (
          <li key={chip.index} className={`word-item${selected && settling?.get(chip.index) ? ' with-settling' : ''}`}>
            <button
              type="button"
              className={`chip${selected ? ' selected' : ''}${disabled ? ' disabled' : ''}${stream === 'uncond' ? ' negative' : ''}`}
              aria-pressed={selected}
              aria-disabled={disabled || undefined}
              title={
                chip.disabledReason ??
                (chip.partiallyTruncated
                  ? 'Partly truncated: only its first tokens were kept'
                  : `Tokens ${chip.tokenIndices.join(', ')} · Shift/Ctrl-click to combine` +
                    (onMenu ? ' · right-click (or Shift+F10) for weight and knock-out' : ''))
              }
              aria-haspopup={onMenu && !disabled ? 'dialog' : undefined}
              data-word={chip.text}
              style={
                selected ? { borderColor: colors[order], boxShadow: `0 0 0 1px ${colors[order]} inset` } : undefined
              }
              onClick={(e) => {
                if (disabled) return
                onPick(stream, chip.index, e.shiftKey || e.ctrlKey || e.metaKey)
              }}
              onContextMenu={(e) => {
                if (!onMenu || disabled) return
                e.preventDefault()
                onMenu(chip.index, e.currentTarget)
              }}
              onKeyDown={(e) => {
                if (!onMenu || disabled) return
                if (e.key === 'ContextMenu' || (e.key === 'F10' && e.shiftKey)) {
                  e.preventDefault()
                  onMenu(chip.index, e.currentTarget)
                }
              }}
            >
              {selected && <span className="swatch" style={{ background: colors[order] }} aria-hidden="true" />}
              {chip.text}
              {chip.partiallyTruncated && (
                <span className="chip-note" aria-hidden="true">
                  …
                </span>
              )}
            </button>
            {selected && settling?.get(chip.index) && <Sparkline curve={settling.get(chip.index)!} word={chip.text} />}
          </li>
        )
      })}
    </ul>
  )
}

/** Reasons of the disabled chips, listed under the chips so they are readable without hovering. */
export function DisabledReasons({ chips }: { chips: WordChip[] }): React.JSX.Element | null {
  const disabled = chips.filter((c) => c.disabledReason)
  if (disabled.length === 0) return null
  const byReason = new Map<string, string[]>()
  for (const c of disabled) byReason.set(c.disabledReason!, [...(byReason.get(c.disabledReason!) ?? []), c.text])
  return (
    <ul className="disabled-reasons" data-testid="disabled-reasons">
      {[...byReason].map(([reason, words]) => (
        <li key={reason}>
          <b>{words.join(' ')}</b>: {reason}
        </li>
      ))}
    </ul>
  )
}
