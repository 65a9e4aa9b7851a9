/**
 * The picked word's weight (issue 17), under the word chips (App's stage): a 0-3 slider that the
 * next Generate uses (the `weights` parameter: the word's cross-attention scaled by it). Weights
 * also come from emphasis typed in the prompt, `(word:1.3)`, and multiply with these. The chip's
 * context menu (ChipMenu) sets the same weights through weightOf / withWeight.
 */
import { MAX_WEIGHT, MIN_WEIGHT } from '../../../shared/emphasis'
import { foldWord } from '../../../shared/tokenizer/word-spans'

/** A word's weight in the form's `weights` (keys folded as the pipeline folds them), 1 if unset. */
export function weightOf(weights: Readonly<Record<string, number>>, word: string): number {
  return weights[foldWord(word)] ?? 1
}

/** `weights` with the word's weight set (1 removes the key: unchanged words are not listed). */
export function withWeight(weights: Readonly<Record<string, number>>, word: string, w: number): Record<string, number> {
  const next = { ...weights }
  if (w === 1) delete next[foldWord(word)]
  else next[foldWord(word)] = w
  return next
}

/** The 0-3 weight slider of one word, shared by WordWeight and the chip's menu (ChipMenu). */
export function WeightRange({
  word,
  value,
  onChange,
  inputRef,
}: {
  word: string
  value: number
  onChange: (weight: number) => void
  inputRef?: React.Ref<HTMLInputElement>
}): React.JSX.Element {
  return (
    <input
      ref={inputRef}
      type="range"
      min={MIN_WEIGHT}
      max={MAX_WEIGHT}
      step={0.1}
      value={value}
      aria-label={`Weight of ${word}`}
      onChange={(e) => onChange(Number(e.target.value))}
    />
  )
}

export function WordWeight({
  word,
  weights,
  onChange,
}: {
  /** The picked prompt word; nothing is shown without one. */
  word: string | null
  weights: Record<string, number>
  onChange: (weights: Record<string, number>) => void
}): React.JSX.Element | null {
  if (!word) return null
  const key = foldWord(word)
  const value = weightOf(weights, word)
  const set = (w: number): void => onChange(withWeight(weights, word, w))
  const others = Object.entries(weights).filter(([k]) => k !== key)
  return (
    <div className="word-weight" data-testid="word-weight">
      <label>
        Weight of “{word}” <WeightRange word={word} value={value} onChange={set} /> <output>{value.toFixed(1)}</output>
      </label>
      {value !== 1 && (
        <button type="button" className="link" onClick={() => set(1)}>
          reset
        </button>
      )}
      <span className="muted small">
        {' '}
        · applies at the next Generate
        {others.length > 0 && ` · also ${others.map(([k, w]) => `${k} ${w}`).join(', ')}`}
      </span>
    </div>
  )
}
