/**
 * The "image-guided" heat-map method (issue 16 §2): DAAM's word map, snapped to the generated
 * image's own regions. Caller: Heatmaps.wordMaps/wordBytes (heatmaps.ts) when a spec asks for
 * method 'guided', which the overlay, the saved files, the CLI and `npm run eval` all go through.
 *
 * DAAM's maps come from a 16x16 (at most 64x64) grid upsampled bicubically, so they are blobs that
 * miss thin parts and bleed over object borders. The image itself says where the borders are.
 * Two steps, both with the domain transform (domain-transform.ts) as the edge-aware filter:
 *  1. Smooth the DAAM map over the whole image (sigma_s = the image's long side) but not across
 *     colour edges: each region takes roughly its mean attention. This is image-guided filtering of
 *     a coarse map (He et al., guided filter, ECCV 2010; Kopf et al., joint bilateral upsampling,
 *     SIGGRAPH 2007), done with the domain transform. Min-max normalised: the unary u.
 *  2. A two-label dense CRF solved by mean field (Krähenbühl & Koltun, NeurIPS 2011), whose
 *     Gaussian bilateral message passing is replaced by the domain transform as in Chen et al.
 *     (CVPR 2016, "Semantic image segmentation with task-specific edge detection using CNNs and a
 *     discriminatively trained domain transform"):
 *       q <- sigmoid(k (u - tau0) + w (2 DT(q) - 1)),
 *     tau0 = DAAM's mask threshold 0.4, so a pixel starts in the word where DAAM's mask would put it
 *     and then agrees with its edge-aware neighbourhood.
 * The parameters were chosen on the seen split of `npm run eval` only (README, "Heat maps");
 * spatial extents are fractions of the image's long side, so they scale with the image.
 *
 * The output keeps the input's peak (max(q) rescaled to max(input)): in 'word' normalisation
 * the map still spans [0, 1], in 'absolute' a weak word stays dim.
 */
import type { TokenMaps } from './aggregate'
import type { ImageBytes } from './compose'
import { domainTransform, guideEdges, type DomainTransformScratch, type GuideEdges } from './domain-transform'
import { toImageSize, type Normalization } from './word-maps'

export const GUIDED_PARAMS = {
  /** Step 1: spatial extent (fraction of the long side) and colour extent. */
  smoothSpatial: 1,
  smoothRange: 0.5,
  smoothIterations: 3,
  /** Step 2: DAAM's threshold as the unary's boundary, its slope, the pairwise weight. */
  tau0: 0.4,
  unarySlope: 8,
  pairwise: 8,
  crfSpatial: 0.25,
  crfRange: 0.4,
  crfIterations: 2,
  meanFieldSteps: 5,
  /**
   * Both steps run on a grid of at most this many pixels on the long side (the bundled model's
   * 128 px images as they are; SD's 512 px in 4x4 blocks): at 512x512 they took 78 ms per word,
   * over the 16 ms click budget. The result comes back to image size by joint bilateral
   * upsampling (Kopf et al., SIGGRAPH 2007): each pixel mixes its 2x2 nearest grid values
   * weighted by distance and by colour likeness to its own colour, so edges stay at full
   * resolution.
   */
  workSide: 128,
  /** Colour extent of the upsampling's range weight (same scale as smoothRange). */
  upsampleRange: 0.1,
} as const

/** The guide and the buffers one image's refinements share (Heatmaps keeps one). */
export interface GuidedRefiner {
  width: number
  height: number
  /** Block size of the working grid (1: the image's own grid). */
  factor: number
  edges: GuideEdges
  /** Working-grid buffers. */
  work: Float32Array
  unary: Float32Array
  messages: Float32Array
  dt: DomainTransformScratch
  /**
   * With factor > 1: per image pixel, the upsampling weights of its 2x2 grid cells (top left, top
   * right, bottom left, bottom right) in 255ths summing to 255 (bytes: a quarter of the memory
   * traffic of floats, and the map becomes colour-map bytes anyway), and the top-left cell's
   * grid row offset per image row and column per image column.
   */
  upWeights?: Uint8Array
  upRow?: Int32Array
  upCol?: Int32Array
}

/**
 * Box means of f x f blocks of a 1- or 3-channel image (`stride` values per source pixel; the
 * last row/column of blocks may be partial). Returns the largest source value of channel 0.
 */
function boxDown(
  src: ArrayLike<number>,
  w: number,
  h: number,
  ch: 1 | 3,
  f: number,
  stride: number,
  out: Float32Array,
): number {
  const wl = Math.ceil(w / f),
    hl = Math.ceil(h / f)
  out.fill(0)
  let peak = -Infinity
  for (let y = 0; y < h; y++) {
    const row = Math.floor(y / f) * wl
    for (let x = 0, lx = 0, k = 0; x < w; x++) {
      const o = (row + lx) * ch
      const s = (y * w + x) * stride
      const v = src[s]
      if (v > peak) peak = v
      out[o] += v
      if (ch === 3) {
        out[o + 1] += src[s + 1]
        out[o + 2] += src[s + 2]
      }
      if (++k === f) {
        k = 0
        lx++
      }
    }
  }
  for (let ly = 0; ly < hl; ly++)
    for (let lx = 0; lx < wl; lx++) {
      const k = 1 / ((Math.min(h, (ly + 1) * f) - ly * f) * (Math.min(w, (lx + 1) * f) - lx * f))
      for (let c = 0; c < ch; c++) out[(ly * wl + lx) * ch + c] *= k
    }
  return peak
}

export function guidedRefiner(image: ImageBytes): GuidedRefiner {
  const { width: w, height: h, channels: ch } = image
  const factor = Math.max(1, Math.ceil(Math.max(w, h) / GUIDED_PARAMS.workSide))
  if (factor === 1) {
    const edges = guideEdges(image)
    const n = w * h
    return {
      width: w,
      height: h,
      factor,
      edges,
      work: new Float32Array(n),
      unary: new Float32Array(n),
      messages: new Float32Array(n),
      dt: {},
    }
  }
  if (image.data.length < w * h * ch) throw new Error('guide image buffer too small')
  const wl = Math.ceil(w / factor),
    hl = Math.ceil(h / factor)
  const nl = wl * hl
  const small = new Float32Array(nl * 3)
  boxDown(image.data, w, h, 3, factor, ch, small)
  const edges = guideEdges({ data: Uint8ClampedArray.from(small), width: wl, height: hl, channels: 3 })
  // joint bilateral upsampling weights, fixed per image
  const lut = new Float32Array(766)
  for (let d = 0; d < 766; d++) lut[d] = Math.exp(-d / 255 / GUIDED_PARAMS.upsampleRange)
  const upWeights = new Uint8Array(w * h * 4)
  const upRow = new Int32Array(h)
  const upCol = new Int32Array(w)
  const wk = new Float64Array(4)
  const px = image.data
  const dx1 = wl > 1 ? 1 : 0,
    dy1 = hl > 1 ? wl : 0
  for (let y = 0; y < h; y++) {
    const sy = Math.min(hl - 1, Math.max(0, (y + 0.5) / factor - 0.5))
    const y0 = Math.min(hl - 2, Math.floor(sy))
    const ty = hl > 1 ? sy - Math.max(0, y0) : 0
    for (let x = 0; x < w; x++) {
      const sx = Math.min(wl - 1, Math.max(0, (x + 0.5) / factor - 0.5))
      const x0 = Math.min(wl - 2, Math.floor(sx))
      const tx = wl > 1 ? sx - Math.max(0, x0) : 0
      const i = y * w + x
      const base = Math.max(0, y0) * wl + Math.max(0, x0)
      upRow[y] = Math.max(0, y0) * wl
      upCol[x] = Math.max(0, x0)
      let sum = 0
      for (let k = 0; k < 4; k++) {
        const c = (base + (k & 1 ? dx1 : 0) + (k & 2 ? dy1 : 0)) * 3
        const bil = (k & 1 ? tx : 1 - tx) * (k & 2 ? ty : 1 - ty)
        const d =
          Math.abs(px[i * ch] - small[c]) +
          Math.abs(px[i * ch + 1] - small[c + 1]) +
          Math.abs(px[i * ch + 2] - small[c + 2])
        // a floor keeps plain bilinear where no cell shares the pixel's colour
        wk[k] = bil * (lut[Math.min(765, Math.round(d))] + 1e-4)
        sum += wk[k]
      }
      // in 255ths, the rounding error given to the largest weight so that they sum to 255
      let total = 0,
        largest = 0
      for (let k = 0; k < 4; k++) {
        const q = Math.round((255 * wk[k]) / sum)
        upWeights[i * 4 + k] = q
        total += q
        if (wk[k] > wk[largest]) largest = k
      }
      upWeights[i * 4 + largest] += 255 - total
    }
  }
  return {
    width: w,
    height: h,
    factor,
    edges,
    work: new Float32Array(nl),
    unary: new Float32Array(nl),
    messages: new Float32Array(nl),
    dt: {},
    upWeights,
    upRow,
    upCol,
  }
}

/** The two steps on the working grid, in place on `q` (the grid's map). */
/**
 * The logistic function by table with linear interpolation (error below 1e-5): an exp per pixel and
 * mean-field step was a fifth of a 512 px click. Logits here stay within +-(slope + pairwise) = 16.
 */
const SIGMOID_RANGE = 24
const SIGMOID_STEPS = 64
const SIGMOID = Float32Array.from(
  { length: 2 * SIGMOID_RANGE * SIGMOID_STEPS + 2 },
  (_, k) => 1 / (1 + Math.exp(-(k / SIGMOID_STEPS - SIGMOID_RANGE))),
)

function sigmoid(x: number): number {
  const t = (Math.min(SIGMOID_RANGE, Math.max(-SIGMOID_RANGE, x)) + SIGMOID_RANGE) * SIGMOID_STEPS
  const k = Math.floor(t)
  return SIGMOID[k] + (t - k) * (SIGMOID[k + 1] - SIGMOID[k])
}

function refineOnGrid(q: Float32Array, r: GuidedRefiner): void {
  const { width: w, height: h } = r.edges
  const n = w * h
  const P = GUIDED_PARAMS
  const side = Math.max(w, h)
  const u = r.unary
  u.set(q)
  domainTransform(u, r.edges, P.smoothSpatial * side, P.smoothRange, P.smoothIterations, r.dt)
  let lo = Infinity,
    hi = -Infinity
  for (let i = 0; i < n; i++) {
    if (u[i] < lo) lo = u[i]
    if (u[i] > hi) hi = u[i]
  }
  // the unary's logit, k (u - tau0), kept in u; a flat map has no preference
  const scale = hi > lo ? 1 / (hi - lo) : 0
  for (let i = 0; i < n; i++) u[i] = P.unarySlope * ((u[i] - lo) * scale - P.tau0)
  for (let i = 0; i < n; i++) q[i] = sigmoid(u[i])
  const m = r.messages
  for (let s = 0; s < P.meanFieldSteps; s++) {
    m.set(q)
    domainTransform(m, r.edges, P.crfSpatial * side, P.crfRange, P.crfIterations, r.dt)
    for (let i = 0; i < n; i++) q[i] = sigmoid(u[i] + P.pairwise * (2 * m[i] - 1))
  }
}

/**
 * Refines one word map (values in [0, 1], [y][x] at image size) in place and returns it. Above
 * the working grid's size the map is first box-averaged onto the grid (Heatmaps skips that by
 * computing DAAM's map at the grid's size directly: refineGridMap).
 */
export function refineGuided(map: Float32Array, r: GuidedRefiner): Float32Array {
  const n = r.width * r.height
  if (map.length !== n) throw new Error(`map has ${map.length} values, image ${r.width}x${r.height}`)
  if (r.factor === 1) return refineGridMap(map, r, map)
  boxDown(map, r.width, r.height, 1, r.factor, 1, r.work)
  return refineGridMap(r.work, r, map)
}

/**
 * Refines a word map given on the working grid (`grid`, r.edges' size; overwritten) and writes
 * it at image size into `out` (which may be `grid` itself when the grid is the image's). No
 * allocation: the refiner's buffers are reused.
 */
export function refineGridMap(grid: Float32Array, r: GuidedRefiner, out: Float32Array): Float32Array {
  const nl = r.edges.width * r.edges.height
  if (grid.length !== nl) throw new Error(`grid map has ${grid.length} values, grid ${r.edges.width}x${r.edges.height}`)
  if (out.length !== r.width * r.height) throw new Error(`map has ${out.length} values, image ${r.width}x${r.height}`)
  let peak = 0
  for (let i = 0; i < nl; i++) peak = grid[i] > peak ? grid[i] : peak
  const q = grid
  refineOnGrid(q, r)
  // rescaled on the grid: the upsample mixes grid values convexly, so its peak is at most this one
  let qMax = 0
  for (let i = 0; i < nl; i++) qMax = q[i] > qMax ? q[i] : qMax
  const k = qMax > 0 ? peak / qMax : 0
  for (let i = 0; i < nl; i++) q[i] *= k
  if (r.factor === 1) {
    if (out !== q) out.set(q)
    return out
  }
  const wt = r.upWeights!,
    rows = r.upRow!,
    cols = r.upCol!
  const wl = r.edges.width
  const dx1 = wl > 1 ? 1 : 0,
    dy1 = r.edges.height > 1 ? wl : 0
  for (let y = 0, i = 0; y < r.height; y++) {
    const row = rows[y]
    for (let x = 0; x < r.width; x++, i++) {
      const b = row + cols[x],
        o = i * 4
      out[i] =
        (wt[o] * q[b] + wt[o + 1] * q[b + dx1] + wt[o + 2] * q[b + dy1] + wt[o + 3] * q[b + dy1 + dx1]) * (1 / 255)
    }
  }
  return out
}

/**
 * One word's image-guided map into `out` (image size): DAAM's map for this normalisation
 * (`latent` from latentWordMaps) computed at the refinement's working grid, which for large images
 * is coarser than the image (no full-size bicubic pass to average down again), refined there and
 * brought to image size. The one recipe behind Heatmaps' 'guided' maps and the renderer's worker.
 */
export function guidedWordMap(
  latent: Float32Array,
  tm: Pick<TokenMaps, 'height' | 'width'>,
  mode: Normalization,
  r: GuidedRefiner,
  out: Float32Array = new Float32Array(r.width * r.height),
): Float32Array {
  const grid = r.factor === 1 ? out : r.work
  toImageSize(latent, tm.height, tm.width, r.edges.height, r.edges.width, mode, grid)
  return refineGridMap(grid, r, out)
}

/**
 * The image box-averaged to `width` x `height` (any ratio; RGB out): the guide of small maps of
 * the same picture, such as the per-layer grid's thumbnails (src/renderer/src/components/LayerGrid.tsx).
 */
export function guideAtSize(image: ImageBytes, width: number, height: number): ImageBytes {
  const { width: w, height: h, channels: ch, data } = image
  if (data.length < w * h * ch) throw new Error('guide image buffer too small')
  const out = new Uint8ClampedArray(width * height * 3)
  const sum = new Float64Array(3)
  for (let y = 0; y < height; y++) {
    const y0 = Math.floor((y * h) / height),
      y1 = Math.max(y0 + 1, Math.floor(((y + 1) * h) / height))
    for (let x = 0; x < width; x++) {
      const x0 = Math.floor((x * w) / width),
        x1 = Math.max(x0 + 1, Math.floor(((x + 1) * w) / width))
      sum.fill(0)
      for (let sy = y0; sy < y1; sy++)
        for (let sx = x0, s = (sy * w + x0) * ch; sx < x1; sx++, s += ch) {
          sum[0] += data[s]
          sum[1] += data[s + 1]
          sum[2] += data[s + 2]
        }
      const k = 1 / ((y1 - y0) * (x1 - x0)),
        o = (y * width + x) * 3
      out[o] = sum[0] * k
      out[o + 1] = sum[1] * k
      out[o + 2] = sum[2] * k
    }
  }
  return { data: out, width, height, channels: 3 }
}
