/**
 * Words of a prompt as the user typed it, and the token positions that encode each one.
 *
 * A word is a whitespace-separated chunk of the prompt with its leading and trailing punctuation
 * split off ("cat," -> "cat" + ","); each split-off punctuation run is its own `punct` word.
 * Inner punctuation stays ("well-known", "don't"). Emoji and other symbols count as word
 * characters. Because CLIP pieces never cross whitespace, and punctuation runs are whole pieces,
 * every token belongs to exactly one word, so a word never claims part of a longer word.
 */
import type { PreToken } from './pretokenize'

export type WordKind = 'word' | 'punct'

export interface PromptWord {
  /** Position in `PromptEncoding.words`. */
  index: number
  /** The word exactly as typed (a substring of the prompt). */
  text: string
  /** UTF-16 offsets [start, end) in the prompt. */
  start: number
  end: number
  kind: WordKind
  /** Positions in `inputIds` of the tokens that encode this word (BOS is position 0). */
  tokenIndices: number[]
  /** True when truncation removed some or all of this word's tokens. */
  truncated: boolean
}

export interface PromptEncoding {
  prompt: string
  /** Token ids, padded to `maxLength`: BOS, content, EOS, padding. */
  inputIds: number[]
  /** Token strings for the same positions (for display). */
  tokens: string[]
  /** Number of positions before padding (BOS + kept content + EOS). */
  length: number
  maxLength: number
  words: PromptWord[]
  /** Words that lost all their tokens to truncation. */
  droppedWords: PromptWord[]
  truncated: boolean
}

export interface SpecialTokens {
  bosId: number
  eosId: number
  padId: number
  bosToken: string
  eosToken: string
  padToken: string
  maxLength: number
}

/** A piece that holds only punctuation (no letters, numbers, marks or symbols such as emoji). */
const PUNCT_ONLY = /^\p{P}+$/u

/** Groups pre-tokens into words; returns for each word the range of pre-token indices it owns. */
export function groupWords(
  prompt: string,
  pieces: readonly PreToken[],
): { word: Omit<PromptWord, 'index' | 'tokenIndices' | 'truncated'>; first: number; last: number }[] {
  const out: { word: Omit<PromptWord, 'index' | 'tokenIndices' | 'truncated'>; first: number; last: number }[] = []
  const make = (first: number, last: number, kind: WordKind) => {
    const start = pieces[first].start
    const end = pieces[last].end
    out.push({ word: { text: prompt.slice(start, end), start, end, kind }, first, last })
  }
  let p = 0
  for (const chunk of prompt.matchAll(/\S+/gu)) {
    const cEnd = chunk.index + chunk[0].length
    const first = p
    while (p < pieces.length && pieces[p].start < cEnd) p++
    const last = p - 1 // pieces [first, last] lie in this chunk
    if (last < first) continue // the chunk was only dropped characters
    let lo = first
    let hi = last
    while (lo <= hi && PUNCT_ONLY.test(pieces[lo].text)) lo++
    while (hi >= lo && PUNCT_ONLY.test(pieces[hi].text)) hi--
    for (let k = first; k < lo; k++) make(k, k, 'punct')
    if (lo <= hi) make(lo, hi, 'word')
    for (let k = hi + 1; k <= last; k++) make(k, k, 'punct')
  }
  return out
}

/**
 * Builds the padded id sequence and the word map from the pre-tokens and their BPE ids.
 * Content beyond `maxLength - 2` tokens is dropped; the affected words are reported.
 */
export function assembleEncoding(
  prompt: string,
  pieces: readonly PreToken[],
  pieceIds: readonly (readonly number[])[],
  pieceTokens: readonly (readonly string[])[],
  special: SpecialTokens,
): PromptEncoding {
  const room = special.maxLength - 2
  const inputIds: number[] = [special.bosId]
  const tokens: string[] = [special.bosToken]
  // Position in inputIds of each piece's first token (tokens may be cut off later).
  const pieceStart: number[] = []
  let total = 0
  for (let k = 0; k < pieces.length; k++) {
    pieceStart.push(1 + total)
    for (let j = 0; j < pieceIds[k].length; j++) {
      if (total < room) {
        inputIds.push(pieceIds[k][j])
        tokens.push(pieceTokens[k][j])
      }
      total++
    }
  }
  inputIds.push(special.eosId)
  tokens.push(special.eosToken)
  const length = inputIds.length
  while (inputIds.length < special.maxLength) {
    inputIds.push(special.padId)
    tokens.push(special.padToken)
  }
  const lastKept = room // highest kept content position
  const words: PromptWord[] = groupWords(prompt, pieces).map(({ word, first, last }, index) => {
    const all: number[] = []
    for (let k = first; k <= last; k++) {
      for (let j = 0; j < pieceIds[k].length; j++) all.push(pieceStart[k] + j)
    }
    const kept = all.filter((pos) => pos <= lastKept)
    return { ...word, index, tokenIndices: kept, truncated: kept.length < all.length }
  })
  return {
    prompt,
    inputIds,
    tokens,
    length,
    maxLength: special.maxLength,
    words,
    droppedWords: words.filter((w) => w.truncated && w.tokenIndices.length === 0),
    truncated: total > room,
  }
}

/** Normalises a word the way the tokenizer does, for comparisons (NFC, lower case, trimmed). */
export function foldWord(s: string): string {
  return s.normalize('NFC').toLowerCase().trim()
}

/** All occurrences of a whole word (case-insensitive); never matches inside a longer word. */
export function findWord(encoding: PromptEncoding, query: string): PromptWord[] {
  const q = foldWord(query)
  return encoding.words.filter((w) => foldWord(w.text) === q)
}

/** The word covering a character offset of the prompt, if any. */
export function wordAt(encoding: PromptEncoding, offset: number): PromptWord | undefined {
  return encoding.words.find((w) => offset >= w.start && offset < w.end)
}
