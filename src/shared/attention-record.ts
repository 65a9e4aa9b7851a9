/**
 * The attention record: what the hook captured during one generation, enough to recompute any
 * heat map later (other filters, other words, other normalisations) without re-running the model.
 *
 * Content. For each tapped cross-attention layer l (native resolution h_l x w_l), for each kept
 * token t (BOS, the prompt's tokens, the first EOS; padding is dropped), the map of attention
 * probabilities already averaged over heads in the graph, summed over the steps of a time bucket.
 * Layer l's data is a float16 array laid out [bucket][head][token][y][x] (spatial maps contiguous,
 * so a token map is one subarray). Bucket b of layer l covers steps [b*B_l, min((b+1)*B_l, S)).
 * B_l = 1 (the usual case) means one map per step. The head axis has H_l = 1 entry (the head mean,
 * the default) unless the record was made per head (opt-in, RecordLayer.heads = the layer's head
 * count): DAAM clamps each head's upsampled map at 0 before averaging heads, which only a
 * per-head record reproduces exactly (the head-mean default differs by the figure in README.md).
 *
 * Memory. bytes = 2 * sum_streams sum_l ceil(S / B_l) * H_l * T_stream * h_l * w_l
 *   (H_l = 1 for the default head-mean record; SD 1.5 has 8 heads per layer, so a per-head record
 *   is 8x larger and the planner below trades that for coarser time buckets.)
 *   SD 1.5 at 512x512 (latent 64x64), 16 layers: 5 at 64^2, 5 at 32^2, 5 at 16^2, 1 at 8^2
 *   -> sum_l h_l*w_l = 5*4096 + 5*1024 + 5*256 + 64 = 26 944 pixels per token per step.
 *   50 steps, 10 single-token words (T = 12): per-step storage would be
 *   2 * 50 * 12 * 26 944 = 32.3 MB: four times over the 8 MB budget even in float16.
 * So the recorder plans bucket sizes against a byte budget (default 8 000 000): while over it,
 * the resolution group taking the most bytes gets larger buckets (planBuckets below). For the
 * SD 1.5 case the plan is: 16^2 and 8^2 per step, 32^2 summed over 2 steps, 64^2 over 9 steps:
 *   2 * 12 * (50*(5*256 + 64) + 25*5*1024 + 6*5*4096) = 7 633 920 bytes <= 8 MB
 * (checked in src/main/attention/recorder.test.ts). With the refined stream (issue 16, the prompt's
 * token maps propagated through self-attention inside the graph) the record holds two [HW, T]
 * streams; the plan becomes 64^2 over 25 steps, 32^2 over 5, 16^2 over 2, 8^2 per step: 6 113 280
 * bytes. The [HW, HW] self-attention itself is never stored: at 64^2 it is 16.7 M values per
 * layer-step (33.5 MB in float16, over the budget even summed over all steps and layers); 32^2
 * (2 MB) and 16^2 (128 KB) would fit, which is why the propagation happens in the graph and
 * every resolution stays affordable. A per-head record (8 heads) fits 8 MB only as 64^2 and 32^2
 * summed over all 50 steps, 16^2 over 7, 8^2 per step: 7 495 680 bytes (checked in
 * src/shared/attention-record.test.ts). The DAAM default (sum over all steps) is
 * exact for any plan, and time filters use the buckets they overlap (approximate only where a
 * bucket is cut; the heat-map code reports when that happens). Small models fit per step.
 *
 * Binary format (little-endian), version 1:
 *   bytes 0..7   ASCII "DAAMREC1"
 *   bytes 8..11  uint32 n = length of the JSON header in bytes
 *   12..12+n     UTF-8 JSON: RecordHeader (below)
 *   padding      zero bytes up to the next multiple of 8
 *   data         for each stream in header.streams order, for each layer in header.layers order:
 *                ceil(steps / bucketSize) * heads * tokens * height * width float16 values
 *                (heads absent from a layer's JSON = 1, the head mean)
 */

export type LayerBlock = 'down' | 'mid' | 'up' | 'unknown'

export interface RecordLayer {
  /** Order of the layer in the U-Net's execution (0-based). */
  index: number
  name: string
  block: LayerBlock
  blockIndex: number
  height: number
  width: number
  /** Steps summed into one stored map (1 = per step). */
  bucketSize: number
  /** Head maps stored per token; absent or 1 = the in-graph head mean (the default). */
  heads?: number
}

/**
 * The two halves of the guidance batch a record keeps: 'cond' = the prompt; 'uncond' = the
 * negative (or empty) prompt. Heat maps, overlay specs and word chips name their stream this way.
 */
export const STREAM_NAMES = ['cond', 'uncond'] as const
export type StreamName = (typeof STREAM_NAMES)[number]

/**
 * 'refined' (issue 16 §2): the prompt's token maps propagated through each layer's self-attention
 * in the graph (src/main/attention/patch-unet.ts `refine`); same layout and layers as 'cond', head
 * mean only. Stored as a third stream; heat maps select it with the overlay method, not the
 * StreamName (it is the prompt's words, seen through a different method).
 */
export type RecordStreamName = StreamName | 'refined'

export interface AttentionStream {
  name: RecordStreamName
  /** Number of kept tokens T (BOS + prompt tokens + first EOS). */
  tokens: number
  /** One float16 (Uint16 bits) array per layer, [bucket][token][y][x]. */
  data: Uint16Array[]
}

export interface RecordHeader {
  version: 1
  /** Denoising steps recorded. */
  steps: number
  /** Scheduler timestep of each step. */
  timesteps: number[]
  latentHeight: number
  latentWidth: number
  layers: RecordLayer[]
  streams: { name: AttentionStream['name']; tokens: number }[]
}

export interface AttentionRecord {
  steps: number
  timesteps: number[]
  latentHeight: number
  latentWidth: number
  layers: RecordLayer[]
  cond: AttentionStream
  uncond?: AttentionStream
  /** The self-attention-refined prompt maps, when the U-Net was patched with `refine`. */
  refined?: AttentionStream
}

export const RECORD_BUDGET_BYTES = 8_000_000

export function bucketCount(steps: number, bucketSize: number): number {
  return Math.ceil(steps / bucketSize)
}

/** Values stored for one layer of one stream. */
export function layerValues(layer: RecordLayer, steps: number, tokens: number): number {
  return bucketCount(steps, layer.bucketSize) * (layer.heads ?? 1) * tokens * layer.height * layer.width
}

/** The memory formula above, in bytes (data only; the header is a few KB of JSON). */
export function recordBytes(layers: readonly RecordLayer[], steps: number, tokensPerStream: readonly number[]): number {
  let values = 0
  for (const t of tokensPerStream) for (const l of layers) values += layerValues(l, steps, t)
  return 2 * values
}

/**
 * Chooses per-layer bucket sizes so the record fits `budget` bytes. Layers of equal resolution
 * share a bucket size (a resolution filter then has uniform time precision). Greedy: while over
 * budget, the group with the most bytes moves to the next bucket size that reduces its bucket
 * count by one. Returns bucket sizes per layer; all 1 when per-step storage fits.
 */
export function planBuckets(
  pixelsPerLayer: readonly number[],
  steps: number,
  tokensTotal: number,
  budget = RECORD_BUDGET_BYTES,
): number[] {
  const groups = new Map<number, { pixels: number; buckets: number }>()
  for (const p of pixelsPerLayer) {
    const g = groups.get(p) ?? { pixels: 0, buckets: steps }
    g.pixels += p
    groups.set(p, g)
  }
  const bytesOf = (g: { pixels: number; buckets: number }): number => 2 * g.pixels * tokensTotal * g.buckets
  const total = (): number => [...groups.values()].reduce((s, g) => s + bytesOf(g), 0)
  while (total() > budget) {
    let worst: { pixels: number; buckets: number } | undefined
    for (const g of groups.values()) if (g.buckets > 1 && (!worst || bytesOf(g) > bytesOf(worst))) worst = g
    if (!worst) break // one bucket everywhere: as small as the record gets
    worst.buckets -= 1
  }
  // buckets -> bucket size (the count that size really gives may be lower; never higher)
  return pixelsPerLayer.map((p) => Math.ceil(steps / groups.get(p)!.buckets))
}

const MAGIC = 'DAAMREC1'

export function serializeRecord(record: AttentionRecord): Uint8Array {
  const streams = [record.cond, ...(record.uncond ? [record.uncond] : []), ...(record.refined ? [record.refined] : [])]
  const header: RecordHeader = {
    version: 1,
    steps: record.steps,
    timesteps: record.timesteps,
    latentHeight: record.latentHeight,
    latentWidth: record.latentWidth,
    layers: record.layers,
    streams: streams.map((s) => ({ name: s.name, tokens: s.tokens })),
  }
  const json = new TextEncoder().encode(JSON.stringify(header))
  const dataStart = Math.ceil((12 + json.length) / 8) * 8
  let dataBytes = 0
  for (const s of streams) for (const d of s.data) dataBytes += d.byteLength
  const out = new Uint8Array(dataStart + dataBytes)
  out.set(new TextEncoder().encode(MAGIC), 0)
  new DataView(out.buffer).setUint32(8, json.length, true)
  out.set(json, 12)
  let offset = dataStart
  for (const s of streams) {
    for (const d of s.data) {
      // float16 bits are written little-endian regardless of the host's byte order
      const view = new DataView(out.buffer, offset, d.byteLength)
      for (let i = 0; i < d.length; i++) view.setUint16(i * 2, d[i], true)
      offset += d.byteLength
    }
  }
  return out
}

export function deserializeRecord(bytes: Uint8Array): AttentionRecord {
  if (bytes.length < 12 || new TextDecoder().decode(bytes.subarray(0, 8)) !== MAGIC) {
    throw new Error('not an attention record (bad magic)')
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const n = view.getUint32(8, true)
  if (12 + n > bytes.length) throw new Error('attention record truncated in its header')
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(12, 12 + n))) as RecordHeader
  if (header.version !== 1) throw new Error(`unsupported attention record version ${String(header.version)}`)
  let offset = Math.ceil((12 + n) / 8) * 8
  const streams: AttentionStream[] = header.streams.map((s) => ({
    name: s.name,
    tokens: s.tokens,
    data: header.layers.map((layer) => {
      const count = layerValues(layer, header.steps, s.tokens)
      if (offset + count * 2 > bytes.length) throw new Error('attention record truncated in its data')
      const data = new Uint16Array(count)
      for (let i = 0; i < count; i++) data[i] = view.getUint16(offset + i * 2, true)
      offset += count * 2
      return data
    }),
  }))
  if (offset !== bytes.length) throw new Error('attention record has trailing bytes')
  return {
    steps: header.steps,
    timesteps: header.timesteps,
    latentHeight: header.latentHeight,
    latentWidth: header.latentWidth,
    layers: header.layers,
    cond: streams.find((s) => s.name === 'cond')!,
    uncond: streams.find((s) => s.name === 'uncond'),
    refined: streams.find((s) => s.name === 'refined'),
  }
}

/**
 * Native resolution of a layer from its query count: U-Net downsamplers (3x3 conv, stride 2,
 * padding 1) map n -> ceil(n/2), so we halve the latent grid until the pixel count matches.
 * Works for non-square latents.
 */
export function layerResolution(
  pixels: number,
  latentHeight: number,
  latentWidth: number,
): { height: number; width: number } {
  let h = latentHeight
  let w = latentWidth
  for (let i = 0; i < 16; i++) {
    if (h * w === pixels) return { height: h, width: w }
    if (h * w < pixels) break
    h = Math.ceil(h / 2)
    w = Math.ceil(w / 2)
  }
  throw new Error(`attention map with ${pixels} queries does not match latent ${latentHeight}x${latentWidth}`)
}
