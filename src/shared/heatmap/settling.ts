/**
 * The settling curve of a word: for each step k, how much the word's tau mask from steps 1..k
 * already agrees with its final mask (steps 1..S), as IoU. It tells when a word's place in the
 * image was decided. Callers: the renderer's word chips (sparkline and the step it passes 0.9,
 * src/renderer/src/state/use-overlay.ts) and Save all words (src/main/saving/word-files.ts).
 *
 * The masks are the ones the overlay draws: the record's buckets aggregated by aggregateTokens for
 * steps 0..k (a bucket cut by k counts in proportion, as the step filter does), the word's mean
 * token map, per-word min-max normalisation (DAAM), upsampled to image size, thresholded at tau.
 * Only the word's own tokens are aggregated (a sub-record of them), so a curve costs
 * S aggregations of one or two tokens, not of the whole prompt.
 */
import type { AttentionRecord, StreamName } from '../attention-record'
import { aggregateTokens, type HeatmapFilter } from './aggregate'
import { DEFAULT_TAU, iou, thresholdMask } from './masks'
import { latentWordMaps, toImageSize, type WordSpec } from './word-maps'

/** The IoU a curve must reach, and keep, for the word to count as settled. */
export const SETTLED_IOU = 0.9

export interface SettlingCurve {
  /** IoU of the mask from steps 1..k+1 with the final mask, one value per step. */
  iou: number[]
  /** The 1-based step from which the IoU stays at or above SETTLED_IOU (S when only the last does). */
  settledAt: number
}

export interface SettlingOptions {
  /** Layers and resolutions as the overlay's filter; its step parts are ignored. */
  filter?: Pick<HeatmapFilter, 'layers' | 'resolutions'>
  stream?: StreamName
  tau?: number
  /** Mask size (default: the latent grid). */
  width?: number
  height?: number
}

/** The record cut to the given tokens of one stream (same layers, steps and buckets). */
function tokenSubRecord(record: AttentionRecord, tokens: readonly number[], streamName: StreamName): AttentionRecord {
  const stream = streamName === 'cond' ? record.cond : record.uncond
  if (!stream) throw new Error('this record has no negative-prompt (unconditional) attention')
  for (const t of tokens) {
    if (!Number.isInteger(t) || t < 0 || t >= stream.tokens)
      throw new Error(`token ${t} outside 0..${stream.tokens - 1}`)
  }
  const T = stream.tokens
  const data = record.layers.map((layer, li) => {
    const hw = layer.height * layer.width
    const src = stream.data[li]!
    const buckets = src.length / (T * hw)
    const out = new Uint16Array(buckets * tokens.length * hw)
    for (let b = 0; b < buckets; b++)
      tokens.forEach((t, j) =>
        out.set(src.subarray((b * T + t) * hw, (b * T + t + 1) * hw), (b * tokens.length + j) * hw),
      )
    return out
  })
  return { ...record, cond: { name: 'cond', tokens: tokens.length, data }, uncond: undefined }
}

export function settlingCurve(record: AttentionRecord, word: WordSpec, options: SettlingOptions = {}): SettlingCurve {
  if (word.tokens.length === 0) throw new Error(`"${word.label}" has no tokens in the prompt`)
  const sub = tokenSubRecord(record, word.tokens, options.stream ?? 'cond')
  const local: WordSpec = { label: word.label, tokens: word.tokens.map((_, i) => i) }
  const width = options.width ?? record.latentWidth
  const height = options.height ?? record.latentHeight
  const tau = options.tau ?? DEFAULT_TAU
  const filter: HeatmapFilter = {}
  if (options.filter?.layers) filter.layers = [...options.filter.layers]
  if (options.filter?.resolutions) filter.resolutions = [...options.filter.resolutions]
  const map = new Float32Array(width * height)
  const maskAt = (k: number): Uint8Array => {
    const tm = aggregateTokens(sub, { ...filter, steps: { from: 0, to: k } })
    const [latent] = latentWordMaps(tm, [local], 'word')
    return thresholdMask(toImageSize(latent!, tm.height, tm.width, height, width, 'word', map), tau)
  }
  const S = record.steps
  const final = maskAt(S - 1)
  const curve: number[] = []
  for (let k = 0; k < S - 1; k++) curve.push(iou(maskAt(k), final))
  curve.push(1)
  let settledAt = S
  while (settledAt > 1 && curve[settledAt - 2]! >= SETTLED_IOU) settledAt--
  return { iou: curve, settledAt }
}
