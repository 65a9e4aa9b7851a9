/**
 * The image-guided method on synthetic scenes shaped like the bundled model's: flat-colour objects
 * on a light background, with a DAAM-like map (a soft blob, offset and wider than the object).
 */
import { describe, expect, it } from 'vitest'
import type { ImageBytes } from './compose'
import { Heatmaps } from './heatmaps'
import { guideAtSize, guidedRefiner, refineGuided } from './image-guided'
import { iou, thresholdMask } from './masks'
import { makeRecord } from '../../../test/attention/fixtures'

const BACKGROUND = [232, 234, 238],
  RED = [220, 40, 40]

/** `inside(x, y)` in red, the rest background, as RGB (or RGBA) bytes. */
function scene(size: number, inside: (x: number, y: number) => boolean, channels: 3 | 4 = 3): ImageBytes {
  const data = new Uint8Array(size * size * channels).fill(255)
  for (let y = 0; y < size; y++)
    for (let x = 0; x < size; x++) data.set(inside(x, y) ? RED : BACKGROUND, (y * size + x) * channels)
  return { data, width: size, height: size, channels }
}

function truth(size: number, inside: (x: number, y: number) => boolean): Uint8Array {
  return Uint8Array.from({ length: size * size }, (_, i) => (inside(i % size, Math.floor(i / size)) ? 1 : 0))
}

/** A normalised Gaussian blob: what DAAM's upsampled 16x16 grid looks like. */
function blob(size: number, cx: number, cy: number, sx: number, sy: number): Float32Array {
  return Float32Array.from({ length: size * size }, (_, i) => {
    const x = i % size,
      y = Math.floor(i / size)
    return Math.exp(-(((x - cx) / sx) ** 2 + ((y - cy) / sy) ** 2) / 2)
  })
}

describe('refineGuided', () => {
  it('snaps a blurred, offset blob to the disk it covers', () => {
    const S = 128
    const disk = (x: number, y: number): boolean => (x - 60) ** 2 + (y - 70) ** 2 < 18 ** 2
    const gt = truth(S, disk)
    const map = blob(S, 66, 64, 16, 16)
    const before = iou(thresholdMask(map, 0.4), gt)
    const out = refineGuided(Float32Array.from(map), guidedRefiner(scene(S, disk)))
    const after = iou(thresholdMask(out, 0.4), gt)
    expect(before).toBeLessThan(0.75)
    expect(after).toBeGreaterThan(0.95)
  })

  it('recovers a thin band that the blob overflows (the scarf case)', () => {
    const S = 128
    const band = (x: number, y: number): boolean => y >= 60 && y < 66 && x >= 44 && x < 84
    const gt = truth(S, band)
    const map = blob(S, 64, 62, 14, 9)
    const before = iou(thresholdMask(map, 0.4), gt)
    const after = iou(thresholdMask(refineGuided(Float32Array.from(map), guidedRefiner(scene(S, band))), 0.4), gt)
    expect(before).toBeLessThan(0.35)
    expect(after).toBeGreaterThan(0.85)
  })

  it('at 512 px works on a coarser grid and brings the border back at full resolution', () => {
    const S = 512
    const disk = (x: number, y: number): boolean => (x - 241) ** 2 + (y - 279) ** 2 < 73 ** 2
    const gt = truth(S, disk)
    const r = guidedRefiner(scene(S, disk, 4))
    expect(r.factor).toBe(4)
    const out = refineGuided(blob(S, 265, 255, 64, 64), r)
    const mask = thresholdMask(out, 0.4)
    expect(iou(mask, gt)).toBeGreaterThan(0.99)
    // the mask's border sits on the disk's border: about 0.06 wrong pixels per border pixel (plain
    // bilinear upsampling of the grid gets 1.09, about one pixel off all round)
    let wrong = 0
    for (let i = 0; i < mask.length; i++) if (mask[i] !== gt[i]) wrong++
    const perimeter = 2 * Math.PI * 73
    expect(wrong / perimeter).toBeLessThan(0.3)
  })

  it("keeps the input's peak (a weak word stays weak) and stays within [0, peak]", () => {
    const S = 64
    const disk = (x: number, y: number): boolean => (x - 32) ** 2 + (y - 32) ** 2 < 10 ** 2
    const r = guidedRefiner(scene(S, disk))
    for (const peak of [1, 0.3]) {
      const map = blob(S, 34, 30, 8, 8).map((v) => v * peak)
      const out = refineGuided(map, r)
      expect(Math.max(...out)).toBeCloseTo(peak, 6)
      expect(Math.min(...out)).toBeGreaterThanOrEqual(0)
    }
    expect(Array.from(refineGuided(new Float32Array(S * S), r))).toEqual(Array.from(new Float32Array(S * S)))
  })

  it('refuses a map of another size', () => {
    const r = guidedRefiner(scene(16, () => false))
    expect(() => refineGuided(new Float32Array(15 * 16), r)).toThrow(/240 values, image 16x16/)
  })
})

describe("Heatmaps with method 'guided'", () => {
  // 2 tokens on a 4x4 latent; token 1 attends to the left half
  const rec = makeRecord([{ block: 'up', height: 4, width: 4, bucketSize: 1 }], 1, 2, (_l, _s, t, _y, x) =>
    t === 1 ? (x < 2 ? 0.8 : 0.1) : 0.5,
  )
  const left = (x: number): boolean => x < 13
  const image = scene(32, (x) => left(x))
  const words = [{ label: 'left', tokens: [1] }]

  it('draws the refined map for floats and bytes alike, DAAM otherwise', () => {
    const hm = new Heatmaps(rec, 32, 32, image)
    expect(hm.hasGuide).toBe(true)
    const daam = hm.wordMaps(words).maps[0]!
    const guided = hm.wordMaps(words, { method: 'guided' }).maps[0]!
    const gt = truth(32, (x) => left(x))
    expect(iou(thresholdMask(guided, 0.4), gt)).toBeGreaterThan(iou(thresholdMask(daam, 0.4), gt))
    expect(iou(thresholdMask(guided, 0.4), gt)).toBeGreaterThan(0.95)
    const bytes = hm.wordBytes(words, { method: 'guided' })[0]!
    for (let i = 0; i < bytes.length; i++) expect(Math.abs(bytes[i]! - guided[i]! * 255)).toBeLessThanOrEqual(1)
    // a second call reuses the refiner's buffers and gives the same map
    expect(hm.wordMaps(words, { method: 'guided' }).maps[0]).toEqual(guided)
  })

  it('says plainly when the image is missing or of another size', () => {
    expect(() => new Heatmaps(rec, 32, 32).wordMaps(words, { method: 'guided' })).toThrow(/needs the generated image/)
    expect(() => new Heatmaps(rec, 32, 16, image)).toThrow(/guide image is 32x32, maps 32x16/)
  })
})

describe('guideAtSize', () => {
  it('box-averages to any size: flat regions keep their colour, a border pixel mixes both', () => {
    // left 3/8 red, the rest background, RGBA, shrunk 8x to 64 (whole blocks) and to 48 (not)
    const image = scene(512, (x) => x < 192, 4)
    const at64 = guideAtSize(image, 64, 64)
    expect(at64.channels).toBe(3)
    expect([...at64.data.subarray(0, 3)]).toEqual(RED)
    expect([...at64.data.subarray(23 * 3, 24 * 3)]).toEqual(RED)
    expect([...at64.data.subarray(24 * 3, 25 * 3)]).toEqual(BACKGROUND)
    const at48 = guideAtSize(image, 48, 40)
    expect([at48.width, at48.height, at48.data.length]).toEqual([48, 40, 48 * 40 * 3])
    // column 18 covers source columns 192..202 (background), column 17 181..191 (red)
    expect([...at48.data.subarray(17 * 3, 18 * 3)]).toEqual(RED)
    expect([...at48.data.subarray(18 * 3, 19 * 3)]).toEqual(BACKGROUND)
    const odd = guideAtSize(
      scene(10, (x) => x < 5),
      4,
      4,
    )
    // column 1 covers source columns 2..4 (red), column 2 covers 5..7 (background)
    expect([...odd.data.subarray(3, 6)]).toEqual(RED)
    expect([...odd.data.subarray(6, 9)]).toEqual(BACKGROUND)
    const mixed = guideAtSize(
      scene(3, (x) => x < 1),
      1,
      1,
    )
    expect([...mixed.data]).toEqual(RED.map((c, i) => Math.round((c + 2 * BACKGROUND[i]!) / 3)))
  })
})
