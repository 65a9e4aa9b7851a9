import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import sharp from 'sharp'
import { afterEach, describe, expect, it } from 'vitest'
import { makeRecord } from '../../../test/attention/fixtures'
import { Heatmaps } from '../../shared/heatmap/heatmaps'
import { DEFAULT_OVERLAY, renderOverlay } from '../../shared/heatmap/overlay'
import { readNpy, npyToFloat32 } from '../../shared/npy'
import { readPngText } from '../png-text'
import { writeWordFiles } from './word-files'

const dirs: string[] = []
function tmp(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'daam-word-files-'))
  dirs.push(d)
  return d
}
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true })
})

const rec = makeRecord(
  [
    { block: 'down', height: 4, width: 4, bucketSize: 1 },
    { block: 'up', height: 2, width: 2, bucketSize: 1 },
  ],
  2,
  5,
  (_l, _s, t, y, x) => (x === t % 4 ? 0.2 + 0.1 * y : 0.02),
)
const W = 48,
  H = 32
const image = { data: new Uint8Array(W * H * 3).fill(180), width: W, height: H, channels: 3 as const }
const generation = { prompt: 'a red hat snowman', seed: 7, steps: 2, model: 'test-model' }

describe('writeWordFiles', () => {
  it('writes overlays with metadata, npy maps, grid, composite, index and the raw record', async () => {
    const out = tmp()
    const words = [
      { label: 'red hat', tokens: [1] },
      { label: 'Snowman!', tokens: [2, 3] },
    ]
    const filter = { steps: { from: 1, to: 1 } }
    const res = await writeWordFiles(out, {
      image,
      record: rec,
      words,
      settings: { ...DEFAULT_OVERLAY, filter },
      generation,
      tokenStrings: ['<|startoftext|>', 'red</w>', 'snow', 'man</w>', '<|endoftext|>', '<|endoftext|>'],
      overlays: true,
    })
    expect(res.words.map((w) => w.overlay)).toEqual(['red-hat.overlay.png', 'snowman.overlay.png'])
    const png = fs.readFileSync(path.join(out, 'red-hat.overlay.png'))
    const meta = await sharp(png).metadata()
    expect([meta.width, meta.height]).toEqual([W, H])
    const text = readPngText(png)
    expect(text).toMatchObject({
      prompt: 'a red hat snowman',
      seed: '7',
      steps: '2',
      model: 'test-model',
      words: 'red hat',
      stream: 'cond',
      Software: 'DAAM Studio',
    })
    expect(JSON.parse(text.overlay!)).toMatchObject({
      mode: 'heatmap',
      colormap: 'jet',
      opacity: 0.5,
      filter,
      layers: [0, 1],
      steps: { from: 1, to: 1 },
    })
    const npy = readNpy(fs.readFileSync(path.join(out, 'snowman.npy')))
    expect(npy.shape).toEqual([H, W])
    const expected = new Heatmaps(rec, W, H).wordMaps(words, { filter }).maps[1]!
    expect(Array.from(npyToFloat32(npy))).toEqual(Array.from(expected))
    const grid = await sharp(fs.readFileSync(path.join(out, 'grid.png'))).metadata()
    expect(grid.width).toBe(3 * W)
    expect(grid.height).toBeGreaterThan(H)
    const index = JSON.parse(fs.readFileSync(path.join(out, 'heatmaps.json'), 'utf8'))
    expect(index.words[1]).toMatchObject({ word: 'Snowman!', tokenIndices: [2, 3], npy: 'snowman.npy' })
    expect(index).toMatchObject({ format: 'daam-heatmaps/1', layers: [0, 1], raw: 'raw/index.json', meta: generation })
    const raw = JSON.parse(fs.readFileSync(path.join(out, 'raw', 'index.json'), 'utf8'))
    expect(raw.tokens).toHaveLength(5)
    const layer0 = readNpy(fs.readFileSync(path.join(out, 'raw', raw.layers[0].files.cond)))
    expect(layer0.dtype).toBe('float16')
    expect(layer0.shape).toEqual([2, 5, 4, 4])
    expect(fs.existsSync(path.join(out, 'composite.overlay.png'))).toBe(true)
  })

  it('draws every overlay file with the composer (mask mode keeps the opacity)', async () => {
    const out = tmp()
    const words = [
      { label: 'left', tokens: [1] },
      { label: 'right', tokens: [2] },
    ]
    const settings = { ...DEFAULT_OVERLAY, mode: 'mask' as const, opacity: 0.9, tau: 0.3 }
    const res = await writeWordFiles(out, { image, record: rec, words, settings, generation, overlays: true })
    const hm = new Heatmaps(rec, W, H)
    for (const [i, w] of res.words.entries()) {
      const { data } = await sharp(path.join(out, w.overlay!)).raw().toBuffer({ resolveWithObject: true })
      const expected = renderOverlay(hm, image, { ...settings, words: [words[i]!], stream: 'cond' })
      for (let p = 0; p < W * H; p++)
        for (let c = 0; c < 3; c++) expect(data[p * 3 + c], `${w.word} pixel ${p}`).toBe(expected[p * 4 + c])
    }
  })

  it('gives words named like its own files a file of their own, and writes only maps when asked', async () => {
    const out = tmp()
    const words = ['composite', 'grid', 'image', 'maps', 'con'].map((label, i) => ({ label, tokens: [1 + (i % 3)] }))
    const res = await writeWordFiles(out, {
      image,
      record: rec,
      words,
      settings: DEFAULT_OVERLAY,
      generation,
      overlays: false,
      indexName: 'maps.json',
    })
    expect(res.words.map((w) => w.npy)).toEqual([
      'composite-2.npy',
      'grid-2.npy',
      'image-2.npy',
      'maps-2.npy',
      'con-word.npy',
    ])
    expect(res.words.every((w) => w.overlay === undefined)).toBe(true)
    expect(fs.readdirSync(out).sort()).toEqual([...res.words.map((w) => w.npy), 'maps.json', 'raw'].sort())
  })

  it('reports an overlay that does not fit the record as invalid-request', async () => {
    const out = tmp()
    await expect(
      writeWordFiles(out, {
        image,
        record: rec,
        words: [{ label: 'ghost', tokens: [9] }],
        settings: DEFAULT_OVERLAY,
        generation,
        overlays: true,
      }),
    ).rejects.toMatchObject({ code: 'invalid-request', message: expect.stringMatching(/ghost.*token 9/) })
  })
})
