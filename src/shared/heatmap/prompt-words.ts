/**
 * From the tokenizer's word spans (or the word chips made from them) to heat-map words. The spans
 * are on word boundaries, so "cat" never matches the first piece of "caterpillar" (DAAM's string
 * matching did); a word typed several times becomes one heat-map word averaging all its
 * occurrences' tokens (DAAM's rule). Callers: the CLI's `--heatmaps` and `npm run eval`
 * (encodings), the service's exports and the renderer's hover read-out (chips).
 */
import type { WordChip } from '../ipc/payloads'
import { findWord, foldWord, type PromptEncoding } from '../tokenizer/word-spans'
import type { WordSpec } from './word-maps'

/** A word with the token positions that encode it: a PromptWord or a WordChip. */
interface TokenizedWord {
  text: string
  tokenIndices: readonly number[]
}

/** One heat-map word per distinct word (compared as the tokenizer folds them), in first-seen order. */
function merge(words: readonly TokenizedWord[]): WordSpec[] {
  const byText = new Map<string, { label: string; tokens: number[] }>()
  for (const w of words) {
    if (w.tokenIndices.length === 0) continue // truncated away: nothing to show
    const key = foldWord(w.text)
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

/** Heat-map words of all enabled chips of one stream (the hover read-out, "Save all words"). */
export function mergedWordSpecs(chips: readonly WordChip[]): WordSpec[] {
  return merge(chips.filter((c) => !c.disabledReason))
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
    const found = merge(findWord(encoding, q))
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
