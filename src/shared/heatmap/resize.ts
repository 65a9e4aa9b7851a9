/**
 * Separable bicubic resampling with precomputed weights, matching PyTorch's
 * F.interpolate(mode='bicubic', align_corners=False) that DAAM uses (Keys kernel, a = -0.75,
 * border pixels replicated). Each output coordinate has exactly 4 taps, so a resize is two
 * passes of 4 multiply-adds per output value with no allocation in the loops.
 */

export interface AxisWeights {
  /** 4 source indices per destination index (already clamped to the border). */
  index: Int32Array;
  /** 4 weights per destination index (they sum to 1). */
  weight: Float32Array;
}

const A = -0.75;
function cubic(x: number): number {
  const ax = Math.abs(x);
  if (ax <= 1) return ((A + 2) * ax - (A + 3)) * ax * ax + 1;
  if (ax < 2) return ((A * ax - 5 * A) * ax + 8 * A) * ax - 4 * A;
  return 0;
}

const cache = new Map<string, AxisWeights>();
/** Scratch buffer reused between calls (the renderer resizes many maps in a row). */
let scratch = new Float32Array(0);

export function bicubicWeights(srcSize: number, dstSize: number): AxisWeights {
  const key = `${srcSize}>${dstSize}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const index = new Int32Array(dstSize * 4);
  const weight = new Float32Array(dstSize * 4);
  const scale = srcSize / dstSize;
  for (let d = 0; d < dstSize; d++) {
    const x = (d + 0.5) * scale - 0.5; // align_corners=False: pixel centres line up
    const x0 = Math.floor(x);
    const t = x - x0;
    for (let k = 0; k < 4; k++) {
      index[d * 4 + k] = Math.min(srcSize - 1, Math.max(0, x0 - 1 + k));
      weight[d * 4 + k] = cubic(t - (k - 1));
    }
  }
  const w = { index, weight };
  cache.set(key, w);
  return w;
}

/**
 * Horizontal pass shared by both output types: resizes each source row to `dw` columns into a
 * scratch buffer [sh][dw] and returns it.
 */
function horizontal(src: Float32Array, sh: number, sw: number, dw: number): Float32Array {
  const wx = bicubicWeights(sw, dw);
  if (scratch.length < sh * dw) scratch = new Float32Array(sh * dw);
  const tmp = scratch;
  const xi = wx.index, xw = wx.weight;
  for (let y = 0; y < sh; y++) {
    const s = y * sw;
    const o = y * dw;
    for (let x = 0; x < dw; x++) {
      const k = x * 4;
      tmp[o + x] = xw[k] * src[s + xi[k]] + xw[k + 1] * src[s + xi[k + 1]]
        + xw[k + 2] * src[s + xi[k + 2]] + xw[k + 3] * src[s + xi[k + 3]];
    }
  }
  return tmp;
}

/**
 * Resizes a [sh][sw] map with values in [0, 1] to [dh][dw] bytes (value * 255, rounded and
 * clamped by Uint8ClampedArray itself). This is the display path: a byte is the colour-map
 * index, and 1 byte per pixel instead of 4 keeps all words of a 512x512 image in cache.
 */
export function resizeBicubicToBytes(src: Float32Array, sh: number, sw: number, out: Uint8ClampedArray, dh: number, dw: number): Uint8ClampedArray {
  if (src.length < sh * sw || out.length < dh * dw) throw new Error('resizeBicubicToBytes: buffer too small');
  const tmp = horizontal(src, sh, sw, dw);
  const wy = bicubicWeights(sh, dh);
  const yi = wy.index, yw = wy.weight;
  for (let y = 0; y < dh; y++) {
    const k = y * 4;
    const r0 = yi[k] * dw, r1 = yi[k + 1] * dw, r2 = yi[k + 2] * dw, r3 = yi[k + 3] * dw;
    const w0 = yw[k] * 255, w1 = yw[k + 1] * 255, w2 = yw[k + 2] * 255, w3 = yw[k + 3] * 255;
    const o = y * dw;
    for (let x = 0; x < dw; x++) out[o + x] = w0 * tmp[r0 + x] + w1 * tmp[r1 + x] + w2 * tmp[r2 + x] + w3 * tmp[r3 + x];
  }
  return out;
}


/**
 * Resizes a [sh][sw] map to [dh][dw] into `out`. With clamp, results are clamped to
 * [lo, hi] in the same pass (bicubic overshoots at edges).
 */
export function resizeBicubic(
  src: Float32Array, sh: number, sw: number,
  out: Float32Array, dh: number, dw: number,
  lo = -Infinity, hi = Infinity,
): Float32Array {
  if (src.length < sh * sw || out.length < dh * dw) throw new Error('resizeBicubic: buffer too small');
  const tmp = horizontal(src, sh, sw, dw); // on the (few) source rows
  const wy = bicubicWeights(sh, dh);
  // vertical pass: contiguous rows, 4 taps
  const yi = wy.index, yw = wy.weight;
  for (let y = 0; y < dh; y++) {
    const k = y * 4;
    const r0 = yi[k] * dw, r1 = yi[k + 1] * dw, r2 = yi[k + 2] * dw, r3 = yi[k + 3] * dw;
    const w0 = yw[k], w1 = yw[k + 1], w2 = yw[k + 2], w3 = yw[k + 3];
    const o = y * dw;
    for (let x = 0; x < dw; x++) {
      let v = w0 * tmp[r0 + x] + w1 * tmp[r1 + x] + w2 * tmp[r2 + x] + w3 * tmp[r3 + x];
      if (v < lo) v = lo; else if (v > hi) v = hi;
      out[o + x] = v;
    }
  }
  return out;
}
