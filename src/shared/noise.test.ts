import { describe, expect, it } from 'vitest'
import { gaussianNoise, philox4x32 } from './noise'

const hex = (w: Uint32Array) => Array.from(w, (x) => x.toString(16).padStart(8, '0'))

describe('Philox4x32-10', () => {
  // Known-answer vectors published with Random123 (kat_vectors: philox4x32 10 rounds).
  it('matches the Random123 known-answer tests', () => {
    const o = new Uint32Array(4)
    philox4x32(0, 0, 0, 0, 0, 0, o)
    expect(hex(o)).toEqual(['6627e8d5', 'e169c58d', 'bc57ac4c', '9b00dbd8'])
    philox4x32(0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, o)
    expect(hex(o)).toEqual(['408f276d', '41c83b0e', 'a20bc7c6', '6d5451fd'])
    philox4x32(0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0, o)
    expect(hex(o)).toEqual(['d16cfe09', '94fdcceb', '5001e420', '24126ea1'])
  })
})

describe('gaussianNoise', () => {
  it('is deterministic, and pinned to fixed values so a change of recipe cannot pass unnoticed', () => {
    const a = gaussianNoise(42, 1024)
    expect(gaussianNoise(42, 1024)).toEqual(a)
    // A prefix of a longer draw is the shorter draw (the counter is the element index).
    expect(gaussianNoise(42, 7)).toEqual(a.subarray(0, 7))
    // From key (42, 0), counter (0, 0, 0, 0): the words, their uniforms and the Box-Muller pair.
    const w = new Uint32Array(4)
    philox4x32(0, 0, 0, 0, 42, 0, w)
    const u = Array.from(w, (x) => (x + 0.5) / 2 ** 32)
    const r = Math.sqrt(-2 * Math.log(u[0]))
    expect(a[0]).toBe(Math.fround(r * Math.cos(2 * Math.PI * u[1])))
    expect(a[1]).toBe(Math.fround(r * Math.sin(2 * Math.PI * u[1])))
  })

  it('differs between seeds and streams, including seeds above 2^32', () => {
    const base = gaussianNoise(1, 64)
    expect(gaussianNoise(2, 64)).not.toEqual(base)
    expect(gaussianNoise(1, 64, 1)).not.toEqual(base)
    expect(gaussianNoise(2 ** 32 + 1, 64)).not.toEqual(base)
  })

  it('is standard normal', () => {
    const z = gaussianNoise(7, 200_000)
    let m = 0
    let v = 0
    let tail = 0
    for (const x of z) m += x
    m /= z.length
    for (const x of z) {
      v += (x - m) ** 2
      if (Math.abs(x) > 1.96) tail++
    }
    v /= z.length
    expect(Math.abs(m)).toBeLessThan(0.01)
    expect(Math.abs(v - 1)).toBeLessThan(0.01)
    expect(Math.abs(tail / z.length - 0.05)).toBeLessThan(0.003)
  })

  it('rejects seeds it cannot represent', () => {
    expect(() => gaussianNoise(-1, 4)).toThrow(/seed must be an integer/)
    expect(() => gaussianNoise(1.5, 4)).toThrow(/seed must be an integer/)
  })
})
