/**
 * From the tokenizer's word spans to heat-map words. The spans are on word boundaries, so "cat"
 * never matches the first piece of "caterpillar" (DAAM's string matching did); a word typed
 * several times becomes one heat-map word averaging all its occurrences' tokens (DAAM's rule).
 */
import type { PromptEncoding, PromptWord } from '../tokenizer/words'
import type { WordSpec } from './words'

const fold = (s: string): string => s.normalize('NFC').toLowerCase().trim()

function merge(words: readonly PromptWord[]): WordSpec[] {
  const byText = new Map<string, { label: string; tokens: number[] }>()
  for (const w of words) {
    if (w.tokenIndices.length === 0) continue // truncated away: nothing to show
    const key = fold(w.text)
    const entry = byText.get(key) ?? { label: w.text, tokens: [] }
    entry.tokens.push(...w.tokenIndices)
    byText.set(key, entry)
  }
  return [...byText.values()]
}

/** Every distinct word of the prompt (punctuation left out), in order of first appearance. */
export function promptWordSpecs(encoding: PromptEncoding): WordSpec[] {
  return merge(encoding.words.filter((w) => w.kind === 'word'))
}

/**
 * The words the user asked for. Words not in the prompt are reported, never silently dropped
 * (a DAAM complaint).
 */
export function selectWordSpecs(
  encoding: PromptEncoding,
  queries: readonly string[],
): { words: WordSpec[]; missing: string[] } {
  const words: WordSpec[] = []
  const missing: string[] = []
  for (const q of queries) {
    const found = merge(encoding.words.filter((w) => fold(w.text) === fold(q)))
    if (found.length === 0) missing.push(q)
    else words.push(...found)
  }
  return { words, missing }
}

/**
 * The CLI's `--heatmaps all|word,word` (and the app's word selection): 'all' = every distinct
 * word of the prompt; otherwise the listed words, with the ones not in the prompt reported.
 */
export function heatmapWords(encoding: PromptEncoding, spec: string): { words: WordSpec[]; missing: string[] } {
  if (spec.trim().toLowerCase() === 'all') return { words: promptWordSpecs(encoding), missing: [] }
  const queries = spec
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
  if (queries.length === 0) throw new Error('--heatmaps needs "all" or a comma-separated list of words')
  return selectWordSpecs(encoding, queries)
}
