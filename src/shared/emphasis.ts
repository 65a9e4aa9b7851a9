/**
 * Word weights of a generation: prompt emphasis as users write it in other tools, `(word:1.3)`,
 * `(word)` = x1.1, `[word]` = /1.1, nested and multiplied, `\(` `\)` `\[` `\]` `\\` for literal
 * brackets; plus weights per word (`hat=1.5,scarf=0`). Both end up as one per-token scale of the
 * cross-attention (src/main/attention/patch-unet.ts `control`), not as a scaled text embedding;
 * for weights below 1 the tokens after the word are also blended towards the prompt encoded
 * without it (src/main/engine/downweight.ts, from the same scale). Callers: the pipeline (src/main/engine/pipeline.ts, which encodes the cleaned
 * prompt and feeds the scale), the CLI (scripts/generate.ts `--weights`) and the renderer (chips
 * show the cleaned prompt's words).
 */
import { foldWord, type PromptEncoding } from './tokenizer/word-spans'

export const MIN_WEIGHT = 0
export const MAX_WEIGHT = 3
/** The factor of `(word)`; `[word]` divides by it (the convention of A1111's WebUI). */
export const EMPHASIS_FACTOR = 1.1

/** A range [start, end) of the cleaned prompt and the product of the emphasis around it. */
export interface EmphasisSpan {
  start: number
  end: number
  weight: number
}

export interface ParsedEmphasis {
  /** The prompt without emphasis syntax: what is tokenized and what the word chips show. */
  text: string
  /** Ranges of `text` whose weight is not 1, in order, not overlapping. */
  spans: EmphasisSpan[]
}

export class EmphasisError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'EmphasisError'
  }
}

const WEIGHT_SUFFIX = /:\s*([+-]?(?:\d+\.?\d*|\.\d+))\s*$/

/**
 * Parses emphasis syntax. An opener without its closer applies to the rest of the prompt (as in
 * the WebUI); a closer without an opener, or one that does not match it (`(a]`), is kept as text.
 * An explicit weight must lie in [0, 3]; products of nesting are clamped to that range.
 */
export function parseEmphasis(prompt: string): ParsedEmphasis {
  let out = ''
  const ranges: { start: number; end: number; factor: number }[] = []
  const stack: { char: '(' | '['; at: number }[] = []
  for (let i = 0; i < prompt.length; i++) {
    const c = prompt[i]
    if (c === '\\' && i + 1 < prompt.length && '()[]\\'.includes(prompt[i + 1])) {
      out += prompt[++i]
      continue
    }
    if (c === '(' || c === '[') {
      stack.push({ char: c, at: out.length })
      continue
    }
    const top = stack[stack.length - 1]
    if ((c === ')' && top?.char === '(') || (c === ']' && top?.char === '[')) {
      stack.pop()
      let factor = c === ')' ? EMPHASIS_FACTOR : 1 / EMPHASIS_FACTOR
      const m = c === ')' ? WEIGHT_SUFFIX.exec(out.slice(top.at)) : null
      if (m) {
        const w = Number(m[1])
        if (!Number.isFinite(w) || w < MIN_WEIGHT || w > MAX_WEIGHT) {
          throw new EmphasisError(
            `emphasis weight ${m[1]} near '${prompt.slice(Math.max(0, i - 40), i + 1)}' is outside ${MIN_WEIGHT}..${MAX_WEIGHT}`,
          )
        }
        out = out.slice(0, out.length - m[0].length)
        factor = w
      }
      ranges.push({ start: top.at, end: out.length, factor })
      continue
    }
    out += c
  }
  // an opener without its closer runs to the end of the prompt
  for (const open of stack) {
    ranges.push({ start: open.at, end: out.length, factor: open.char === '(' ? EMPHASIS_FACTOR : 1 / EMPHASIS_FACTOR })
  }
  const cuts = [...new Set([0, out.length, ...ranges.flatMap((r) => [r.start, r.end])])].sort((x, y) => x - y)
  const spans: EmphasisSpan[] = []
  for (let k = 0; k + 1 < cuts.length; k++) {
    const [start, end] = [cuts[k], cuts[k + 1]]
    if (end <= start) continue
    let weight = 1
    for (const r of ranges) if (r.start <= start && r.end >= end) weight *= r.factor
    spans.push({ start, end, weight: clamp(weight) })
  }
  return { text: out, spans: mergeSpans(spans) }
}

function clamp(w: number): number {
  // 1.1 * (1 / 1.1) is not exactly 1 in floating point: snap near-ones back
  if (Math.abs(w - 1) < 1e-9) return 1
  return Math.min(MAX_WEIGHT, Math.max(MIN_WEIGHT, w))
}

function mergeSpans(spans: EmphasisSpan[]): EmphasisSpan[] {
  const out: EmphasisSpan[] = []
  for (const s of spans) {
    if (s.weight === 1) continue
    const last = out[out.length - 1]
    if (last && last.end === s.start && last.weight === s.weight) last.end = s.end
    else out.push({ ...s })
  }
  return out
}

/** Word weights as the CLI takes them: `hat=1.5,scarf=0` (words folded like the tokenizer's). */
export function parseWeightList(list: string): Record<string, number> {
  const weights: Record<string, number> = {}
  for (const item of list.split(',')) {
    if (item.trim() === '') continue
    const eq = item.lastIndexOf('=')
    const word = eq > 0 ? foldWord(item.slice(0, eq)) : ''
    const w = eq > 0 ? Number(item.slice(eq + 1).trim()) : NaN
    if (!word || item.slice(eq + 1).trim() === '' || !Number.isFinite(w)) {
      throw new EmphasisError(`bad word weight '${item.trim()}': write word=weight, e.g. hat=1.5,scarf=0`)
    }
    if (w < MIN_WEIGHT || w > MAX_WEIGHT) {
      throw new EmphasisError(`weight ${w} for '${word}' is outside ${MIN_WEIGHT}..${MAX_WEIGHT}`)
    }
    weights[word] = w
  }
  return weights
}

/**
 * The weight of every word of an encoding of the cleaned prompt: emphasis at the word's first
 * character times the per-word weight (keys folded), clamped to [0, 3].
 */
export function wordWeights(
  encoding: PromptEncoding,
  spans: readonly EmphasisSpan[],
  weights: Readonly<Record<string, number>> = {},
): number[] {
  const folded = new Map(Object.entries(weights).map(([k, v]) => [foldWord(k), v]))
  return encoding.words.map((word) => {
    const span = spans.find((s) => word.start >= s.start && word.start < s.end)
    return clamp((span?.weight ?? 1) * (folded.get(foldWord(word.text)) ?? 1))
  })
}

/**
 * Per-token scale [maxLength] for one prompt: each word's weight on its tokens, 1 elsewhere (BOS,
 * EOS, padding). Returns null when every weight is 1 (the scale changes nothing).
 */
export function tokenScale(
  encoding: PromptEncoding,
  spans: readonly EmphasisSpan[],
  weights: Readonly<Record<string, number>> = {},
): Float32Array | null {
  const perWord = wordWeights(encoding, spans, weights)
  if (perWord.every((w) => w === 1)) return null
  const scale = new Float32Array(encoding.inputIds.length).fill(1)
  encoding.words.forEach((word, k) => {
    for (const t of word.tokenIndices) scale[t] = perWord[k]
  })
  return scale
}
