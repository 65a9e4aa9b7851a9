/**
 * The words under the image (App's stage): the shown generation's word chips and negative-prompt
 * chips with the reasons of disabled ones, or, before the first generation, the prompt's words as
 * a preview. Everything it reads from the payload is read here, inside the pane's ErrorBoundary.
 */
import { useCallback, useState } from 'react'
import type { OverlayState } from '../state/use-overlay'
import { ChipMenu } from './ChipMenu'
import { DisabledReasons, WordChips } from './WordChips'

export function WordsPanel({
  overlay,
  previewPrompt,
  weights,
  onWeights,
  onKnockOut,
  knockOutBlocked,
}: {
  overlay: OverlayState
  /** Shown as plain words while no generation is shown. */
  previewPrompt: string
  /** The form's word weights: the prompt chips' context menu (ChipMenu) sets them. */
  weights?: Record<string, number>
  onWeights?: (weights: Record<string, number>) => void
  /** Knock out a word from its chip's menu (the chip is picked first); absent: no menu. */
  onKnockOut?: (word: string) => void
  /** Why Knock out cannot run now, else undefined. */
  knockOutBlocked?: string
}): React.JSX.Element {
  const { view, chips, negativeChips, selection, colors, pick, settling } = overlay
  const [menu, setMenu] = useState<{ index: number; anchor: HTMLElement } | null>(null)
  const closeMenu = useCallback(() => setMenu(null), [])
  const menuChip = menu ? chips.find((c) => c.index === menu.index) : undefined
  const withMenu = !!(view && onWeights && onKnockOut)
  return (
    <div className="words-area">
      <div className="section-label">
        Words {view && <span className="muted small">· click for its map, Shift/Ctrl-click to combine</span>}
      </div>
      {view ? (
        <>
          <WordChips
            label="Prompt words"
            testId="word-chips"
            stream="cond"
            chips={chips}
            selection={selection}
            colors={colors}
            onPick={pick}
            settling={settling}
            onMenu={withMenu ? (index, anchor) => setMenu({ index, anchor }) : undefined}
          />
          {menu && menuChip && withMenu && (
            <ChipMenu
              word={menuChip.text}
              anchor={menu.anchor}
              weights={weights ?? {}}
              onWeights={onWeights!}
              knockOutBlocked={knockOutBlocked}
              onKnockOut={() => {
                // pick the word (alone) so the knock-out panels show it, as the panel's button does
                if (!(
                  selection.stream === 'cond' &&
                  selection.indices.length === 1 &&
                  selection.indices[0] === menuChip.index
                ))
                  pick('cond', menuChip.index, false)
                onKnockOut!(menuChip.text)
              }}
              onClose={closeMenu}
            />
          )}
          <DisabledReasons chips={chips} />
          {negativeChips.length > 0 && (
            <>
              <div className="section-label small">Negative prompt</div>
              <WordChips
                label="Negative prompt words"
                testId="negative-chips"
                stream="uncond"
                chips={negativeChips}
                selection={selection}
                colors={colors}
                onPick={pick}
                settling={settling}
              />
            </>
          )}
        </>
      ) : (
        <ul className="words placeholder" aria-label="Prompt words">
          {previewPrompt.split(/\s+/).map((w, i) => (
            <li key={`${i}-${w}`} className="word">
              {w}
            </li>
          ))}
        </ul>
      )}
    </div>
  )
}
