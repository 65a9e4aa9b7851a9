/** Word chips for the UI from the tokenizer's word spans, with the reason a chip is disabled. */
import type { WordSpec } from '../../shared/heatmap/words'
import type { WordChip } from '../../shared/ipc/payloads'
import type { PromptEncoding } from '../../shared/tokenizer/words'

export function wordChips(encoding: PromptEncoding, noMapsReason?: string): WordChip[] {
  return encoding.words
    .filter((w) => w.kind === 'word')
    .map((w): WordChip => {
      const chip: WordChip = {
        index: w.index,
        text: w.text,
        start: w.start,
        end: w.end,
        tokenIndices: [...w.tokenIndices],
      }
      if (w.tokenIndices.length === 0) {
        chip.disabledReason = w.truncated
          ? `Truncated: past the model's ${encoding.maxLength}-token limit`
          : 'No tokens: the tokenizer dropped this word'
      } else if (noMapsReason) {
        chip.disabledReason = noMapsReason
      } else if (w.truncated) {
        chip.partiallyTruncated = true
      }
      return chip
    })
}

/** Heat-map words of all enabled chips; a word typed several times averages its occurrences (DAAM). */
export function mergedWordSpecs(chips: readonly WordChip[]): WordSpec[] {
  const byText = new Map<string, { label: string; tokens: number[] }>()
  for (const c of chips) {
    if (c.disabledReason || c.tokenIndices.length === 0) continue
    const key = c.text.normalize('NFC').toLowerCase()
    const entry = byText.get(key) ?? { label: c.text, tokens: [] }
    entry.tokens.push(...c.tokenIndices)
    byText.set(key, entry)
  }
  return [...byText.values()]
}
