/**
 * The words under the image (App's stage): the shown generation's word chips and negative-prompt
 * chips with the reasons of disabled ones, or, before the first generation, the prompt's words as
 * a preview. Everything it reads from the payload is read here, inside the pane's ErrorBoundary.
 */
import type { OverlayState } from '../state/use-overlay'
import { DisabledReasons, WordChips } from './WordChips'

export function WordsPanel({
  overlay,
  previewPrompt,
}: {
  overlay: OverlayState
  /** Shown as plain words while no generation is shown. */
  previewPrompt: string
}): React.JSX.Element {
  const { view, chips, negativeChips, selection, colors, pick, settling } = overlay
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
          />
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
