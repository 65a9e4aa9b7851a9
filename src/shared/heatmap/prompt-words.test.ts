/** Chips and tokenizer words become heat-map words by one rule (hover, "Save all words", the CLI). */
import { describe, expect, it } from 'vitest'
import type { WordChip } from '../ipc/payloads'
import { mergedWordSpecs } from './prompt-words'

const chip = (index: number, text: string, tokenIndices: number[], disabledReason?: string): WordChip => ({
  index,
  text,
  start: 0,
  end: text.length,
  tokenIndices,
  ...(disabledReason ? { disabledReason } : {}),
})

describe('mergedWordSpecs', () => {
  it('merges a word typed several times, whatever its case, into one word averaging all occurrences', () => {
    const words = mergedWordSpecs([chip(0, 'Hat', [1]), chip(1, 'red', [2]), chip(2, 'hat', [3, 4])])
    expect(words).toEqual([
      { label: 'Hat', tokens: [1, 3, 4] },
      { label: 'red', tokens: [2] },
    ])
  })

  it('merges the composed and decomposed spellings of a word (NFC), as the tokenizer does', () => {
    const composed = 'caf\u00e9'
    const decomposed = 'cafe\u0301'
    expect(composed).not.toBe(decomposed)
    const words = mergedWordSpecs([chip(0, composed, [1]), chip(1, decomposed, [2])])
    expect(words).toEqual([{ label: composed, tokens: [1, 2] }])
  })

  it('leaves out disabled chips and chips without tokens', () => {
    const words = mergedWordSpecs([
      chip(0, 'hat', [1]),
      chip(1, 'scarf', [], "Truncated: past the model's 77-token limit"),
      chip(2, 'neck', [2], 'No attention maps'),
      chip(3, 'tail', []),
    ])
    expect(words).toEqual([{ label: 'hat', tokens: [1] }])
  })
})
