/**
 * Step 1 of every heat map: collapse the record into one map per token on the latent grid,
 * following DAAM (castorini/daam trace.py compute_global_heat_map): sum over the selected steps,
 * bicubic upsample every (layer, head) map to the latent grid, clamp the undershoot at 0, mean
 * over the selected heads and layers. With a per-head record (RecordLayer.heads) this is DAAM
 * exactly. The default record holds the in-graph head mean; bicubic is linear, so
 * upsample(mean) = mean(upsample) and only the clamp then happens after the head mean instead of
 * before each head: measured on the bundled model in README.md ("What DAAM means here").
 * Done once per filter change; word maps are cheap combinations of these token maps. Callers:
 * Heatmaps (heatmaps.ts), tests and benches.
 */
import { bucketCount, type AttentionRecord, type RecordLayer, type RecordStreamName } from '../attention-record'
import { halfTable } from '../float16'
import { resizeBicubic } from './resize'

export interface HeatmapFilter {
  /** Explicit layer indices (RecordLayer.index); takes precedence over `resolutions`. */
  layers?: number[]
  /** Keep layers whose native height is one of these (e.g. [64, 32, 16] for SD 1.5 at 512 px). */
  resolutions?: number[]
  /** Inclusive range of step indices (0 = first, noisiest step). */
  steps?: { from: number; to: number }
  /** A single step (scrubbing); overrides `steps`. */
  step?: number
  /** One head alone (per-head records only; the per-head grid). */
  head?: number
}

export interface TokenMaps {
  tokens: number
  height: number
  width: number
  /** [token][y][x] on the latent grid. */
  data: Float32Array
  /** Layer indices that were averaged. */
  layers: number[]
  /** Step range actually used (inclusive). */
  steps: { from: number; to: number }
  /**
   * True when a step filter cut through a time bucket of a layer stored with bucket size > 1
   * (large models): that bucket then contributes in proportion to its overlap.
   */
  approximate: boolean
}

/** DAAM's default: every down/up layer; the mid block (8x8 at SD 512 px) is left out. */
export function selectLayers(layers: readonly RecordLayer[], filter: HeatmapFilter): RecordLayer[] {
  if (filter.layers) {
    const wanted = new Set(filter.layers)
    return layers.filter((l) => wanted.has(l.index))
  }
  if (filter.resolutions) {
    const wanted = new Set(filter.resolutions)
    return layers.filter((l) => wanted.has(l.height))
  }
  const noMid = layers.filter((l) => l.block !== 'mid')
  return noMid.length > 0 ? noMid : [...layers]
}

export function stepRange(steps: number, filter: HeatmapFilter): { from: number; to: number } {
  const r =
    filter.step !== undefined ? { from: filter.step, to: filter.step } : (filter.steps ?? { from: 0, to: steps - 1 })
  const from = Math.max(0, Math.min(steps - 1, Math.floor(r.from)))
  const to = Math.max(from, Math.min(steps - 1, Math.floor(r.to)))
  return { from, to }
}

export function aggregateTokens(
  record: AttentionRecord,
  filter: HeatmapFilter = {},
  streamName: RecordStreamName = 'cond',
): TokenMaps {
  const stream = record[streamName]
  if (!stream)
    throw new Error(
      streamName === 'refined'
        ? 'this record has no refined maps (generate again with the refined method available)'
        : 'this record has no negative-prompt (unconditional) attention',
    )
  const selected = selectLayers(record.layers, filter)
  if (selected.length === 0) throw new Error('the layer filter selects no layer')
  const range = stepRange(record.steps, filter)
  const H = record.latentHeight
  const W = record.latentWidth
  const T = stream.tokens
  const out = new Float32Array(T * H * W)
  const up = new Float32Array(H * W)
  const half = halfTable()
  let approximate = false

  for (const layer of selected) {
    const li = record.layers.indexOf(layer)
    const data = stream.data[li]
    const hw = layer.height * layer.width
    const nh = layer.heads ?? 1
    if (filter.head !== undefined && (nh === 1 || filter.head < 0 || filter.head >= nh))
      throw new Error(
        nh === 1
          ? 'this record keeps the head mean only: record per head to look at one head'
          : `head ${filter.head} outside 0..${nh - 1}`,
      )
    const sum = new Float32Array(nh * T * hw)
    const B = layer.bucketSize
    const nb = bucketCount(record.steps, B)
    for (let b = 0; b < nb; b++) {
      const first = b * B
      const last = Math.min(record.steps, first + B) - 1
      const overlap = Math.min(last, range.to) - Math.max(first, range.from) + 1
      if (overlap <= 0) continue
      const w = overlap / (last - first + 1)
      if (w < 1) approximate = true
      const base = b * nh * T * hw
      for (let i = 0; i < nh * T * hw; i++) sum[i] += w * half[data[base + i]]
    }
    const native = layer.height === H && layer.width === W // no resize, only the clamp
    const heads = filter.head !== undefined ? [filter.head] : Array.from({ length: nh }, (_, h) => h)
    const hk = 1 / heads.length
    for (const h of heads) {
      for (let t = 0; t < T; t++) {
        const map = sum.subarray((h * T + t) * hw, (h * T + t + 1) * hw)
        const src = native ? map : resizeBicubic(map, layer.height, layer.width, up, H, W)
        const o = t * H * W
        for (let i = 0; i < H * W; i++) out[o + i] += src[i] > 0 ? hk * src[i] : 0
      }
    }
  }
  const inv = 1 / selected.length
  for (let i = 0; i < out.length; i++) out[i] *= inv
  return { tokens: T, height: H, width: W, data: out, layers: selected.map((l) => l.index), steps: range, approximate }
}
