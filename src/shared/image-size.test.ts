/** The one image-size rule: its messages, and the schema and the rule agreeing on every side. */
import { describe, expect, it } from 'vitest'
import { parseGenerationParams } from './generation'
import { checkImageSide, checkImageSize, MAX_SIDE, MIN_SIDE, nearestSide } from './image-size'

describe('checkImageSide', () => {
  it('accepts multiples of the size step up to MAX_SIDE', () => {
    expect(checkImageSide('Width', 128, 32)).toBeNull()
    expect(checkImageSide('Height', 32, 32)).toBeNull()
    expect(checkImageSide('Width', MAX_SIDE, 64)).toBeNull()
  })

  it('says what is wrong, with the value and a size to use instead', () => {
    expect(checkImageSide('Width', 100, 32)).toBe(
      "Width 100 px is not a multiple of 32 px, this model's size step (e.g. 96).",
    )
    expect(checkImageSide('Height', 99999, 32)).toBe(`Height 99999 px is too large: at most ${MAX_SIDE} px.`)
    expect(checkImageSide('Width', 16, 32)).toBe('Width must be a whole number of at least 32 px.')
    expect(checkImageSide('Width', 96.5, 32)).toBe('Width must be a whole number of at least 32 px.')
    expect(checkImageSide('Width', NaN, 8)).toBe('Width must be a whole number of at least 8 px.')
  })

  it('never suggests a size that is itself refused', () => {
    for (const step of [8, 16, 24, 32, 48, 64, 96]) {
      for (let v = 1; v <= MAX_SIDE + 100; v += 7) {
        const s = nearestSide(v, step)
        expect(checkImageSide('Width', s, step), `${v} with step ${step} -> ${s}`).toBeNull()
      }
    }
  })
})

describe('checkImageSize', () => {
  it('reports the width first, then the height', () => {
    expect(checkImageSize(100, 100, 32)).toMatch(/^Width 100 px/)
    expect(checkImageSize(96, 100, 32)).toMatch(/^Height 100 px/)
    expect(checkImageSize(96, 64, 32)).toBeNull()
  })

  it('agrees with the schema: every size the rule accepts passes the schema, and the schema stops at MAX_SIDE', () => {
    for (const v of [MIN_SIDE, 64, 512, MAX_SIDE]) {
      expect(checkImageSize(v, v, 8)).toBeNull()
      expect(parseGenerationParams({ prompt: 'x', width: v, height: v })).toMatchObject({ width: v, height: v })
    }
    for (const v of [MAX_SIDE + 8, 4096]) {
      expect(checkImageSize(v, 64, 8)).toMatch(/too large/)
      expect(() => parseGenerationParams({ prompt: 'x', width: v })).toThrow(/'width'/)
    }
    expect(() => parseGenerationParams({ prompt: 'x', height: MIN_SIDE - 1 })).toThrow(/'height'/)
  })
})
