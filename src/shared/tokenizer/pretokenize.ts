/**
 * CLIP's text clean-up and pre-tokenization, keeping every piece's character offsets in the text
 * as the user typed it.
 *
 * CLIP (and Hugging Face's CLIPTokenizer) normalises the text (NFC, whitespace collapsed, control
 * characters dropped, lower-cased) and then splits it with
 *   <|startoftext|>|<|endoftext|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+
 * Each piece is then byte-pair encoded on its own, so a piece's tokens never straddle two pieces.
 * Normalising grapheme by grapheme lets us map each normalised character back to the grapheme it
 * came from, even when NFC or lower-casing changes the length (e.g. "e\u0301" -> "é", "İ" -> "i̇").
 */

export interface PreToken {
  /** Normalised (NFC, lower-case) text that goes into BPE. */
  text: string
  /** UTF-16 offsets [start, end) in the original prompt. */
  start: number
  end: number
}

export const CLIP_SPLIT =
  /<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+/giu

// Control and format characters CLIP's clean-up removes (whitespace is kept and collapsed).
const DROP = /[\p{Cc}\p{Cs}\uFFFD]/u
const SPACE = /\s/u

let segmenter: Intl.Segmenter | null = null

function graphemes(text: string): Iterable<{ segment: string; index: number }> {
  segmenter ??= new Intl.Segmenter(undefined, { granularity: 'grapheme' })
  return segmenter.segment(text)
}

/** Normalised text plus, per normalised UTF-16 unit, the original [start, end) it came from. */
export function normalizeWithOffsets(text: string): { normalized: string; from: Int32Array; to: Int32Array } {
  const parts: string[] = []
  const from: number[] = []
  const to: number[] = []
  for (const { segment, index } of graphemes(text)) {
    let n: string
    if (SPACE.test(segment)) n = ' '
    else {
      // Strip dropped characters inside the grapheme (e.g. a stray control char after a letter).
      n = Array.from(segment)
        .filter((ch) => !DROP.test(ch))
        .join('')
        .normalize('NFC')
        .toLowerCase()
    }
    for (let k = 0; k < n.length; k++) {
      from.push(index)
      to.push(index + segment.length)
    }
    parts.push(n)
  }
  return { normalized: parts.join(''), from: Int32Array.from(from), to: Int32Array.from(to) }
}

/** Splits a prompt into CLIP pre-tokens with offsets into the original text. */
export function preTokenize(text: string): PreToken[] {
  const { normalized, from, to } = normalizeWithOffsets(text)
  const out: PreToken[] = []
  for (const m of normalized.matchAll(CLIP_SPLIT)) {
    const s = m.index
    const e = s + m[0].length
    out.push({ text: m[0], start: from[s], end: to[e - 1] })
  }
  return out
}
