/**
 * Separable bicubic resampling with precomputed weights, matching PyTorch's
 * F.interpolate(mode='bicubic', align_corners=False) that DAAM uses (Keys kernel, a = -0.75,
 * border pixels replicated). Each output coordinate has exactly 4 taps, so a resize is two
 * passes of 4 multiply-adds per output value with no allocation in the loops.
 */

export interface AxisWeights {
  /** 4 source indices per destination index (already clamped to the border). */
  index: Int32Array
  /** 4 weights per destination index (they sum to 1). */
  weight: Float32Array
}

const A = -0.75
function cubic(x: number): number {
  const ax = Math.abs(x)
  if (ax <= 1) return ((A + 2) * ax - (A + 3)) * ax * ax + 1
  if (ax < 2) return ((A * ax - 5 * A) * ax + 8 * A) * ax - 4 * A
  return 0
}

const cache = new Map<string, AxisWeights>()
/** Scratch buffer reused between calls (the renderer resizes many maps in a row). */
let scratch = new Float32Array(0)

export function bicubicWeights(srcSize: number, dstSize: number): AxisWeights {
  const key = `${srcSize}>${dstSize}`
  const hit = cache.get(key)
  if (hit) return hit
  const index = new Int32Array(dstSize * 4)
  const weight = new Float32Array(dstSize * 4)
  const scale = srcSize / dstSize
  for (let d = 0; d < dstSize; d++) {
    const x = (d + 0.5) * scale - 0.5 // align_corners=False: pixel centres line up
    const x0 = Math.floor(x)
    const t = x - x0
    for (let k = 0; k < 4; k++) {
      index[d * 4 + k] = Math.min(srcSize - 1, Math.max(0, x0 - 1 + k))
      weight[d * 4 + k] = cubic(t - (k - 1))
    }
  }
  const w = { index, weight }
  cache.set(key, w)
  return w
}

/**
 * Horizontal pass shared by both output types: resizes each source row to `dw` columns into a
 * scratch buffer [sh][dw] and returns it.
 */
function horizontal(src: Float32Array, sh: number, sw: number, dw: number): Float32Array {
  const wx = bicubicWeights(sw, dw)
  if (scratch.length < sh * dw) scratch = new Float32Array(sh * dw)
  const tmp = scratch
  const xi = wx.index,
    xw = wx.weight
  for (let y = 0; y < sh; y++) {
    const s = y * sw
    const o = y * dw
    for (let x = 0; x < dw; x++) {
      const k = x * 4
      tmp[o + x] =
        xw[k] * src[s + xi[k]] +
        xw[k + 1] * src[s + xi[k + 1]] +
        xw[k + 2] * src[s + xi[k + 2]] +
        xw[k + 3] * src[s + xi[k + 3]]
    }
  }
  return tmp
}

/**
 * Output rows that read the same four source rows, starting at row y (at most 4). When
 * upsampling (8x from latent to image) runs of 4 are the rule: the vertical pass then loads each
 * source value once for 4 outputs, which is where its time went.
 */
function sameSourceRun(yi: Int32Array, y: number, dh: number): number {
  const k = y * 4
  let g = 1
  while (
    g < 4 &&
    y + g < dh &&
    yi[k + 4 * g] === yi[k] &&
    yi[k + 4 * g + 3] === yi[k + 3] &&
    yi[k + 4 * g + 1] === yi[k + 1] &&
    yi[k + 4 * g + 2] === yi[k + 2]
  )
    g++
  return g
}

/**
 * Resizes a [sh][sw] map with values in [0, 1] to [dh][dw] bytes: the float32 value
 * resizeBicubic would store, times 255, rounded and clamped by Uint8ClampedArray itself. This is
 * the display path: a byte is the colour-map index, and 1 byte per pixel instead of 4 keeps all
 * words of a 512x512 image in cache.
 */
export function resizeBicubicToBytes(
  src: Float32Array,
  sh: number,
  sw: number,
  out: Uint8ClampedArray,
  dh: number,
  dw: number,
): Uint8ClampedArray {
  if (src.length < sh * sw || out.length < dh * dw) throw new Error('resizeBicubicToBytes: buffer too small')
  const tmp = horizontal(src, sh, sw, dw)
  const { index: yi, weight: yw } = bicubicWeights(sh, dh)
  let y = 0
  while (y < dh) {
    const k = y * 4
    const r0 = yi[k] * dw,
      r1 = yi[k + 1] * dw,
      r2 = yi[k + 2] * dw,
      r3 = yi[k + 3] * dw
    if (sameSourceRun(yi, y, dh) === 4) {
      const a0 = yw[k],
        a1 = yw[k + 1],
        a2 = yw[k + 2],
        a3 = yw[k + 3]
      const b0 = yw[k + 4],
        b1 = yw[k + 5],
        b2 = yw[k + 6],
        b3 = yw[k + 7]
      const c0 = yw[k + 8],
        c1 = yw[k + 9],
        c2 = yw[k + 10],
        c3 = yw[k + 11]
      const d0 = yw[k + 12],
        d1 = yw[k + 13],
        d2 = yw[k + 14],
        d3 = yw[k + 15]
      const oa = y * dw,
        ob = oa + dw,
        oc = ob + dw,
        od = oc + dw
      for (let x = 0; x < dw; x++) {
        const t0 = tmp[r0 + x],
          t1 = tmp[r1 + x],
          t2 = tmp[r2 + x],
          t3 = tmp[r3 + x]
        out[oa + x] = Math.fround(a0 * t0 + a1 * t1 + a2 * t2 + a3 * t3) * 255
        out[ob + x] = Math.fround(b0 * t0 + b1 * t1 + b2 * t2 + b3 * t3) * 255
        out[oc + x] = Math.fround(c0 * t0 + c1 * t1 + c2 * t2 + c3 * t3) * 255
        out[od + x] = Math.fround(d0 * t0 + d1 * t1 + d2 * t2 + d3 * t3) * 255
      }
      y += 4
      continue
    }
    const w0 = yw[k],
      w1 = yw[k + 1],
      w2 = yw[k + 2],
      w3 = yw[k + 3]
    const o = y * dw
    for (let x = 0; x < dw; x++)
      out[o + x] = Math.fround(w0 * tmp[r0 + x] + w1 * tmp[r1 + x] + w2 * tmp[r2 + x] + w3 * tmp[r3 + x]) * 255
    y += 1
  }
  return out
}

const clamp = (v: number, lo: number, hi: number): number => (v < lo ? lo : v > hi ? hi : v)

/**
 * Resizes a [sh][sw] map to [dh][dw] into `out`. Results are clamped to [lo, hi] in the same
 * pass (bicubic overshoots at edges).
 */
export function resizeBicubic(
  src: Float32Array,
  sh: number,
  sw: number,
  out: Float32Array,
  dh: number,
  dw: number,
  lo = -Infinity,
  hi = Infinity,
): Float32Array {
  if (src.length < sh * sw || out.length < dh * dw) throw new Error('resizeBicubic: buffer too small')
  const tmp = horizontal(src, sh, sw, dw) // on the (few) source rows
  const { index: yi, weight: yw } = bicubicWeights(sh, dh)
  let y = 0
  while (y < dh) {
    const k = y * 4
    const r0 = yi[k] * dw,
      r1 = yi[k + 1] * dw,
      r2 = yi[k + 2] * dw,
      r3 = yi[k + 3] * dw
    if (sameSourceRun(yi, y, dh) === 4) {
      const a0 = yw[k],
        a1 = yw[k + 1],
        a2 = yw[k + 2],
        a3 = yw[k + 3]
      const b0 = yw[k + 4],
        b1 = yw[k + 5],
        b2 = yw[k + 6],
        b3 = yw[k + 7]
      const c0 = yw[k + 8],
        c1 = yw[k + 9],
        c2 = yw[k + 10],
        c3 = yw[k + 11]
      const d0 = yw[k + 12],
        d1 = yw[k + 13],
        d2 = yw[k + 14],
        d3 = yw[k + 15]
      const oa = y * dw,
        ob = oa + dw,
        oc = ob + dw,
        od = oc + dw
      for (let x = 0; x < dw; x++) {
        const t0 = tmp[r0 + x],
          t1 = tmp[r1 + x],
          t2 = tmp[r2 + x],
          t3 = tmp[r3 + x]
        out[oa + x] = clamp(a0 * t0 + a1 * t1 + a2 * t2 + a3 * t3, lo, hi)
        out[ob + x] = clamp(b0 * t0 + b1 * t1 + b2 * t2 + b3 * t3, lo, hi)
        out[oc + x] = clamp(c0 * t0 + c1 * t1 + c2 * t2 + c3 * t3, lo, hi)
        out[od + x] = clamp(d0 * t0 + d1 * t1 + d2 * t2 + d3 * t3, lo, hi)
      }
      y += 4
      continue
    }
    const w0 = yw[k],
      w1 = yw[k + 1],
      w2 = yw[k + 2],
      w3 = yw[k + 3]
    const o = y * dw
    for (let x = 0; x < dw; x++)
      out[o + x] = clamp(w0 * tmp[r0 + x] + w1 * tmp[r1 + x] + w2 * tmp[r2 + x] + w3 * tmp[r3 + x], lo, hi)
    y += 1
  }
  return out
}
