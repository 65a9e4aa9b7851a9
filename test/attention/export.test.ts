import { describe, expect, it } from 'vitest'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import sharp from 'sharp'
import { exportHeatmaps } from '../../src/main/attention/export'
import { readPngText } from '../../src/main/png-text'
import { readNpy, npyToFloat32 } from '../../src/shared/npy'
import { Heatmaps } from '../../src/shared/heatmap/heatmaps'
import { colormapLut, COLORMAPS } from '../../src/shared/colormaps'
import {
  compositeWords,
  distinctColors,
  overlayHeatmap,
  overlayMask,
  overlaySegmentation,
} from '../../src/shared/heatmap/compose'
import { makeRecord } from './fixtures'

describe('colour maps', () => {
  it('are 256-entry RGB tables with the expected ends', () => {
    for (const name of COLORMAPS) expect(colormapLut(name).length).toBe(768)
    const jet = colormapLut('jet')
    expect(Array.from(jet.subarray(0, 3))).toEqual([0, 0, 128]) // dark blue
    expect(Array.from(jet.subarray(765, 768))).toEqual([128, 0, 0]) // dark red
    expect(Array.from(colormapLut('viridis').subarray(765))).toEqual([0xfd, 0xe7, 0x25])
    expect(Array.from(colormapLut('inferno').subarray(0, 3))).toEqual([0, 0, 4])
  })
})

describe('pixel composition', () => {
  const img = {
    data: new Uint8Array([200, 100, 50, 200, 100, 50, 200, 100, 50, 200, 100, 50]),
    width: 2,
    height: 2,
    channels: 3 as const,
  }
  it('blends the colour-mapped value at the given opacity', () => {
    const out = overlayHeatmap(img, Float32Array.from([0, 1, 0.5, 2]), colormapLut('jet'), 0.5)
    expect(Array.from(out.subarray(0, 4))).toEqual([100, 50, 89, 255]) // (200+0)/2, (100+0)/2, (50+128)/2
    expect(Array.from(out.subarray(4, 8))).toEqual([164, 50, 25, 255])
    expect(Array.from(out.subarray(12, 16))).toEqual(Array.from(out.subarray(4, 8))) // values clamp at 1
  })
  it('draws masks with a solid outline and dims the rest', () => {
    const big = { data: new Uint8Array(25 * 3).fill(100), width: 5, height: 5, channels: 3 as const }
    const mask = new Uint8Array(25)
    for (const i of [6, 7, 8, 11, 12, 13, 16, 17, 18]) mask[i] = 1
    const out = overlayMask(big, mask, [255, 0, 0], 0.5, 0.5)
    expect(Array.from(out.subarray(6 * 4, 6 * 4 + 3))).toEqual([255, 0, 0]) // edge
    expect(Array.from(out.subarray(12 * 4, 12 * 4 + 3))).toEqual([178, 50, 50]) // interior tint
    expect(Array.from(out.subarray(0, 3))).toEqual([50, 50, 50]) // outside dimmed
  })
  it('mixes words in distinct hues', () => {
    const colors = distinctColors(3)
    expect(new Set(colors.map((c) => c.join())).size).toBe(3)
    const out = compositeWords(
      img,
      [Float32Array.from([1, 0, 0, 0]), Float32Array.from([0, 1, 0, 0])],
      [
        [255, 0, 0],
        [0, 0, 255],
      ],
      1,
    )
    expect(Array.from(out.subarray(0, 3))).toEqual([255, 0, 0])
    expect(Array.from(out.subarray(4, 7))).toEqual([0, 0, 255])
    expect(Array.from(out.subarray(8, 11))).toEqual([200, 100, 50]) // no word: image
  })
  it('tints argmax segments with their word colour', () => {
    const out = overlaySegmentation(
      img,
      Int16Array.from([0, 1, -1, 0]),
      [
        [0, 0, 0],
        [255, 255, 255],
      ],
      0.5,
    )
    expect(Array.from(out.subarray(0, 3))).toEqual([100, 50, 25])
    expect(Array.from(out.subarray(4, 7))).toEqual([228, 178, 152])
    expect(Array.from(out.subarray(8, 11))).toEqual([200, 100, 50])
  })
})

describe('export', () => {
  it('writes overlays with metadata, npy maps, grid, index and the raw record', async () => {
    const rec = makeRecord(
      [
        { block: 'down', height: 4, width: 4, bucketSize: 1 },
        { block: 'up', height: 2, width: 2, bucketSize: 1 },
      ],
      2,
      5,
      (_l, _s, t, y, x) => (x === t % 4 ? 0.2 + 0.1 * y : 0.02),
    )
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'daam-export-'))
    const W = 48,
      H = 32
    const image = { data: new Uint8Array(W * H * 3).fill(180), width: W, height: H, channels: 3 as const }
    const words = [
      { label: 'red hat', tokens: [1] },
      { label: 'Snowman!', tokens: [2, 3] },
    ]
    const res = await exportHeatmaps({
      outDir: out,
      image,
      record: rec,
      words,
      meta: { prompt: 'a red hat snowman', seed: 7, steps: 2, model: 'test-model' },
      filter: { steps: { from: 1, to: 1 } },
      tokenStrings: ['<|startoftext|>', 'red</w>', 'snow', 'man</w>', '<|endoftext|>', '<|endoftext|>'],
    })
    expect(res.words.map((w) => w.overlay)).toEqual(['red_hat.overlay.png', 'snowman.overlay.png'])
    const png = fs.readFileSync(path.join(out, 'red_hat.overlay.png'))
    const meta = await sharp(png).metadata()
    expect([meta.width, meta.height]).toEqual([W, H])
    const text = readPngText(png)
    expect(text).toMatchObject({
      prompt: 'a red hat snowman',
      seed: '7',
      steps: '2',
      model: 'test-model',
      word: 'red hat',
    })
    expect(JSON.parse(text.filters)).toMatchObject({ steps: { from: 1, to: 1 }, layers: [0, 1] })
    const npy = readNpy(fs.readFileSync(path.join(out, 'snowman.npy')))
    expect(npy.shape).toEqual([H, W])
    const expected = new Heatmaps(rec, W, H).wordMaps(words, { filter: { steps: { from: 1, to: 1 } } }).maps[1]
    expect(Array.from(npyToFloat32(npy))).toEqual(Array.from(expected))
    const grid = await sharp(fs.readFileSync(path.join(out, 'grid.png'))).metadata()
    expect(grid.width).toBe(3 * W)
    expect(grid.height).toBeGreaterThan(H)
    const index = JSON.parse(fs.readFileSync(path.join(out, 'heatmaps.json'), 'utf8'))
    expect(index.words[1]).toMatchObject({ word: 'Snowman!', tokenIndices: [2, 3], npy: 'snowman.npy' })
    const raw = JSON.parse(fs.readFileSync(path.join(out, 'raw', 'index.json'), 'utf8'))
    expect(raw.tokens).toHaveLength(5)
    const layer0 = readNpy(fs.readFileSync(path.join(out, 'raw', raw.layers[0].files.cond)))
    expect(layer0.dtype).toBe('float16')
    expect(layer0.shape).toEqual([2, 5, 4, 4])
    expect(fs.existsSync(path.join(out, 'composite.overlay.png'))).toBe(true)
    fs.rmSync(out, { recursive: true })
  })
})
