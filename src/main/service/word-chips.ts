/**
 * Word chips for the UI from the tokenizer's word spans, with the reason a chip is disabled
 * (generator.ts builds them for each generation). Chips back to heat-map words: mergedWordSpecs in
 * shared/heatmap/prompt-words.ts.
 */
import type { WordChip } from '../../shared/ipc/payloads'
import type { PromptEncoding } from '../../shared/tokenizer/word-spans'

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
