/**
 * Files the user saves, end to end on the bundled model through the service: every per-word PNG of
 * "Save all words" is the overlay composer's output for that word alone (what the canvas shows when
 * only that word is picked), in every mode and colour map; saves go into a new subfolder and never
 * touch what the chosen folder already holds; words named like internal files or Windows devices
 * keep files of their own; a read-only folder is a clear 'save-failed'.
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import sharp from 'sharp'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { makeReadOnly } from '../e2e/support/readonly'
import { AppService } from '../src/main/service'
import { deserializeRecord } from '../src/shared/attention-record'
import { COLORMAPS } from '../src/shared/colormaps'
import { Heatmaps } from '../src/shared/heatmap/heatmaps'
import { DEFAULT_OVERLAY, renderOverlay } from '../src/shared/heatmap/overlay'
import type { OverlaySpec } from '../src/shared/ipc/overlay'
import type { GenerationPayload } from '../src/shared/ipc/payloads'
import { AppError } from '../src/shared/ipc/result'

const MODELS = path.resolve(__dirname, '..', 'models')

function tmp(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix))
}

interface SavedWord {
  word: string
  stream: 'cond' | 'uncond'
  tokenIndices: number[]
  overlay: string
}

/** Largest per-channel difference between a saved RGB PNG and a composed RGBA buffer. */
async function maxDiff(file: string, expected: Uint8ClampedArray): Promise<number> {
  const { data, info } = await sharp(file).raw().toBuffer({ resolveWithObject: true })
  expect(info.channels).toBe(3)
  expect(data.length / 3).toBe(expected.length / 4)
  let max = 0
  for (let i = 0; i < info.width * info.height; i++)
    for (let c = 0; c < 3; c++) max = Math.max(max, Math.abs(data[i * 3 + c]! - expected[i * 4 + c]!))
  return max
}

describe('saving files from a generation (bundled model)', () => {
  let userData: string
  let saveRoot: string
  let service: AppService
  let g: GenerationPayload
  let odd: GenerationPayload
  let chosen = ''

  beforeAll(async () => {
    userData = tmp('daam-save-user-')
    saveRoot = tmp('daam-save-root-')
    service = new AppService({
      modelsDir: MODELS,
      userDataDir: userData,
      threads: 1,
      dialogs: {
        saveFile: async () => path.join(saveRoot, 'one.overlay.png'),
        chooseFolder: async () => chosen,
      },
    })
    g = await service.generate({
      prompt: 'a snowman wearing a red hat',
      negativePrompt: 'blue scarf',
      steps: 4,
      seed: 3,
    })
    odd = await service.generate({ prompt: 'composite image meta con nul com1 hat. grid raw', steps: 2, seed: 1 })
  }, 120_000)

  afterAll(async () => {
    await service.dispose()
    fs.rmSync(userData, { recursive: true, force: true })
    fs.rmSync(saveRoot, { recursive: true, force: true })
  })

  function folder(name: string): string {
    chosen = path.join(saveRoot, name)
    return chosen
  }

  function readMeta(dir: string): { words: SavedWord[]; params: unknown } {
    return JSON.parse(fs.readFileSync(path.join(dir, 'meta.json'), 'utf8'))
  }

  it('each saved word overlay is the composer output for that word alone, in every mode and colour map', async () => {
    const hm = new Heatmaps(deserializeRecord(g.record!), g.width, g.height)
    const image = { data: g.rgb, width: g.width, height: g.height, channels: 3 as const }
    const normalizations = ['word', 'absolute', 'across'] as const
    let run = 0
    for (const mode of ['heatmap', 'mask'] as const) {
      for (const colormap of COLORMAPS) {
        const spec: OverlaySpec = {
          ...DEFAULT_OVERLAY,
          mode,
          colormap,
          opacity: 0.7, // not the composers' defaults (0.4 for masks, 0.5/0.6 for heat maps)
          tau: 0.55,
          normalization: normalizations[run % 3]!,
          filter: run % 2 ? { steps: { from: 1, to: 3 } } : {},
          words: [{ label: 'hat', tokens: [6] }],
          stream: 'cond',
        }
        folder(`parity-${run}`)
        const saved = await service.saveAllWords(g.id, spec)
        const dir = saved.path!
        const meta = readMeta(dir)
        expect(meta.words.map((w) => `${w.stream}:${w.word}`)).toEqual([
          ...'a snowman wearing a red hat'
            .split(' ')
            .filter((w, i, all) => all.indexOf(w) === i)
            .map((w) => `cond:${w}`),
          'uncond:blue',
          'uncond:scarf',
        ])
        for (const w of meta.words) {
          const alone: OverlaySpec = { ...spec, words: [{ label: w.word, tokens: w.tokenIndices }], stream: w.stream }
          const diff = await maxDiff(path.join(dir, w.overlay), renderOverlay(hm, image, alone))
          expect(diff, `${mode} ${colormap} ${spec.normalization} "${w.word}" (${w.stream})`).toBe(0)
        }
        // the composite is the screen with every prompt word picked
        const all: OverlaySpec = {
          ...spec,
          words: meta.words.filter((w) => w.stream === 'cond').map((w) => ({ label: w.word, tokens: w.tokenIndices })),
        }
        expect(await maxDiff(path.join(dir, 'composite.overlay.png'), renderOverlay(hm, image, all))).toBe(0)
        run++
      }
    }
  }, 120_000)

  it('writes into a new subfolder and leaves what the chosen folder holds untouched', async () => {
    const dir = folder('mine')
    fs.mkdirSync(dir)
    const before: Record<string, string> = {
      'image.png': 'my own image',
      'meta.json': '{"mine":true}',
      'grid.png': 'my grid',
      'composite.overlay.png': 'my composite',
      'hat.overlay.png': 'my hat',
      'maps.json': 'my maps',
    }
    for (const [f, text] of Object.entries(before)) fs.writeFileSync(path.join(dir, f), text)
    const spec: OverlaySpec = { ...DEFAULT_OVERLAY, words: [{ label: 'hat', tokens: [6] }], stream: 'cond' }
    const a = await service.saveAllWords(g.id, spec)
    const b = await service.saveAllWords(g.id, spec)
    const m = await service.exportMaps(g.id, spec)
    for (const [f, text] of Object.entries(before)) expect(fs.readFileSync(path.join(dir, f), 'utf8')).toBe(text)
    const paths = [a.path!, b.path!, m.path!]
    expect(new Set(paths).size).toBe(3)
    for (const p of paths) expect(path.dirname(p)).toBe(dir)
    expect(path.basename(a.path!)).toMatch(/^a-snowman-wearing-a-red-hat-3-/)
    expect(path.basename(a.path!)).toContain(g.id)
    expect(fs.readdirSync(a.path!)).toEqual(
      expect.arrayContaining(['image.png', 'meta.json', 'grid.png', 'hat.overlay.png', 'raw']),
    )
    expect(fs.readdirSync(m.path!)).toEqual(expect.arrayContaining(['maps.json', 'hat.npy', 'raw']))
    // nothing half-written is left behind
    expect(fs.readdirSync(dir).filter((f) => f.startsWith('.'))).toEqual([])
  })

  it('gives words named like internal files or Windows devices files of their own', async () => {
    const spec: OverlaySpec = { ...DEFAULT_OVERLAY, words: [{ label: 'hat', tokens: [1] }], stream: 'cond' }
    folder('odd')
    const saved = await service.saveAllWords(odd.id, spec)
    const files = fs.readdirSync(saved.path!)
    const meta = readMeta(saved.path!)
    const overlays = meta.words.map((w) => w.overlay)
    expect(meta.words.map((w) => w.word)).toEqual([
      'composite',
      'image',
      'meta',
      'con',
      'nul',
      'com1',
      'hat',
      'grid',
      'raw',
    ])
    expect(new Set(overlays).size).toBe(overlays.length)
    for (const f of overlays) expect(files).toContain(f)
    expect(overlays).not.toContain('composite.overlay.png')
    expect(files).toContain('composite.overlay.png')
    const reserved = /^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³])(\.|$)/i
    for (const f of files) {
      expect(f, 'no Windows device name').not.toMatch(reserved)
      expect(f, 'no trailing dot or space').not.toMatch(/[. ]$/)
      expect(f).not.toMatch(/[<>:"/\\|?*]|\p{Cc}/u)
    }
    const maps = await service.exportMaps(odd.id, spec)
    const index = JSON.parse(fs.readFileSync(path.join(maps.path!, 'maps.json'), 'utf8')) as {
      words: { npy: string }[]
    }
    expect(new Set(index.words.map((w) => w.npy)).size).toBe(index.words.length)
    for (const w of index.words) expect(w.npy).not.toMatch(reserved)
  })

  it('a read-only folder is a save-failed error naming the folder and the reason', async (ctx) => {
    const dir = folder('locked')
    fs.mkdirSync(dir)
    const undo = makeReadOnly(dir)
    if (!undo) return ctx.skip()
    try {
      const spec: OverlaySpec = { ...DEFAULT_OVERLAY, words: [{ label: 'hat', tokens: [6] }], stream: 'cond' }
      for (const save of [() => service.saveAllWords(g.id, spec), () => service.exportMaps(g.id, spec)]) {
        const error = await save().then(
          () => null,
          (e: unknown) => e,
        )
        expect(error).toBeInstanceOf(AppError)
        expect((error as AppError).code).toBe('save-failed')
        expect((error as AppError).message).toContain(dir)
        expect((error as AppError).message).toMatch(/read-only|permission denied/)
      }
      expect(fs.readdirSync(dir)).toEqual([])
    } finally {
      undo()
    }
  })

  it('an overlay naming tokens the generation does not have is a clear invalid request, not save-failed', async () => {
    folder('bad')
    const spec: OverlaySpec = { ...DEFAULT_OVERLAY, words: [{ label: 'ghost', tokens: [70] }], stream: 'cond' }
    const error = await service.saveOverlay(g.id, spec).then(
      () => null,
      (e: unknown) => e,
    )
    expect(error).toBeInstanceOf(AppError)
    expect((error as AppError).code).toBe('invalid-request')
    expect((error as AppError).message).toMatch(/ghost/)
  })
})
