/** renderOverlay: the one drawing function shared by the canvas and the saved PNGs. */
import { describe, expect, it } from 'vitest'
import type { AttentionRecord } from '../attention-record'
import { colormapLut } from '../colormaps'
import { overlayHeatmap, type ImageBytes } from './compose'
import { toHalf } from '../float16'
import { Heatmaps } from './heatmaps'
import type { OverlaySpec } from '../ipc/overlay'
import { DEFAULT_OVERLAY, renderOverlay, wordColors } from './overlay'

// 3 tokens (BOS, "left", "right") on a 4x4 latent: "left" attends to the left half, "right" to the right.
function record(): AttentionRecord {
  const hw = 16
  const data = new Uint16Array(3 * hw)
  for (let p = 0; p < hw; p++) {
    const left = p % 4 < 2
    data[p] = toHalf(0.2)
    data[hw + p] = toHalf(left ? 0.7 : 0.05)
    data[2 * hw + p] = toHalf(left ? 0.05 : 0.7)
  }
  return {
    steps: 1,
    timesteps: [999],
    latentHeight: 4,
    latentWidth: 4,
    layers: [{ index: 0, name: 'up', block: 'up', blockIndex: 0, height: 4, width: 4, bucketSize: 1 }],
    cond: { name: 'cond', tokens: 3, data: [data] },
  }
}

const image: ImageBytes = { data: new Uint8Array(8 * 8 * 3).fill(128), width: 8, height: 8, channels: 3 }
const spec = (patch: Partial<OverlaySpec>): OverlaySpec => ({
  ...DEFAULT_OVERLAY,
  stream: 'cond',
  words: [{ label: 'left', tokens: [1] }],
  ...patch,
})

describe('renderOverlay', () => {
  it('one word = the colour-mapped heat map over the image', () => {
    const hm = new Heatmaps(record(), 8, 8)
    const out = renderOverlay(hm, image, spec({}))
    const map = hm.wordMaps([{ label: 'left', tokens: [1] }]).maps[0]!
    expect(Array.from(out)).toEqual(Array.from(overlayHeatmap(image, map, colormapLut('jet'), 0.5)))
    // jet: hot (red) on the left, cold (blue) on the right
    expect(out[0]!).toBeGreaterThan(out[2]!)
    expect(out[7 * 4 + 2]!).toBeGreaterThan(out[7 * 4]!)
  })

  it('mask mode tints each word in its own hue, reusing scratch buffers', () => {
    const hm = new Heatmaps(record(), 8, 8)
    const scratch = {}
    const two = spec({
      mode: 'mask',
      words: [
        { label: 'left', tokens: [1] },
        { label: 'right', tokens: [2] },
      ],
    })
    const out = renderOverlay(hm, image, two, scratch)
    const [c0, c1] = wordColors(2)
    const mid = (x: number): number[] => Array.from(out.subarray((3 * 8 + x) * 4, (3 * 8 + x) * 4 + 3))
    // an inner pixel of each half leans towards its word's colour
    const dist = (a: number[], c: readonly number[]): number => a.reduce((s, v, i) => s + Math.abs(v - c[i]!), 0)
    expect(dist(mid(1), c0!)).toBeLessThan(dist(mid(1), c1!))
    expect(dist(mid(6), c1!)).toBeLessThan(dist(mid(6), c0!))
    expect(renderOverlay(hm, image, two, scratch)).toBe(out)
  })

  it('several words in heat-map mode make a composite; filters reach the heat maps', () => {
    const hm = new Heatmaps(record(), 8, 8)
    const both = renderOverlay(
      hm,
      image,
      spec({
        words: [
          { label: 'left', tokens: [1] },
          { label: 'right', tokens: [2] },
        ],
      }),
    )
    expect(both.length).toBe(8 * 8 * 4)
    expect(() => renderOverlay(hm, image, spec({ filter: { resolutions: [64] } }))).toThrow(/selects no layer/)
  })
})
