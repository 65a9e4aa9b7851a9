/**
 * IEEE 754 half precision stored as Uint16 bits. Attention probabilities lie in [0, 1] and step
 * sums in [0, steps]: float16's 11-bit mantissa (relative error <= 2^-11) is far below what a
 * heat map can show, and halves the record. Node 20 has no Float16Array, so we convert by hand.
 */

const f32 = new Float32Array(1)
const u32 = new Uint32Array(f32.buffer)

/** Round-to-nearest-even float32 -> float16 bits. */
export function toHalf(value: number): number {
  f32[0] = value
  const x = u32[0]
  const sign = (x >>> 16) & 0x8000
  const exp = (x >>> 23) & 0xff
  let mant = x & 0x7fffff
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0) // inf / nan
  const e = exp - 127 + 15
  if (e >= 0x1f) return sign | 0x7c00 // overflow -> inf
  if (e <= 0) {
    if (e < -10) return sign // underflow -> signed zero
    mant |= 0x800000 // subnormal half: shift in the implicit bit
    const shift = 14 - e
    const half = mant >>> shift
    const rest = mant & ((1 << shift) - 1)
    const mid = 1 << (shift - 1)
    return sign | (half + (rest > mid || (rest === mid && half & 1) ? 1 : 0))
  }
  const half = (e << 10) | (mant >>> 13)
  const rest = mant & 0x1fff
  // carry out of the mantissa correctly bumps the exponent
  return sign | (half + (rest > 0x1000 || (rest === 0x1000 && half & 1) ? 1 : 0))
}

let table: Float32Array | undefined
/** Decoding table for all 65536 half values (256 KB, built once): decoding is one lookup. */
export function halfTable(): Float32Array {
  if (table) return table
  table = new Float32Array(65536)
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1
    const exp = (h >>> 10) & 0x1f
    const mant = h & 0x3ff
    table[h] =
      exp === 0
        ? sign * mant * 2 ** -24
        : exp === 0x1f
          ? mant
            ? NaN
            : sign * Infinity
          : sign * (1 + mant / 1024) * 2 ** (exp - 15)
  }
  return table
}

export function fromHalf(bits: number): number {
  return halfTable()[bits & 0xffff]
}

export function float32ToFloat16(src: ArrayLike<number>): Uint16Array {
  const out = new Uint16Array(src.length)
  for (let i = 0; i < src.length; i++) out[i] = toHalf(src[i])
  return out
}

export function float16ToFloat32(src: Uint16Array): Float32Array {
  const t = halfTable()
  const out = new Float32Array(src.length)
  for (let i = 0; i < src.length; i++) out[i] = t[src[i]]
  return out
}
