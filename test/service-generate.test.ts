/**
 * The service end to end on the bundled model: generate with the attention hook, history on
 * disk (atomic, restart-safe, corrupt entries skipped, read-only folders reported), overlay save
 * through an injected dialog, busy refusal and cancellation.
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import sharp from 'sharp'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { makeReadOnly } from '../e2e/support/readonly'
import { createDispatcher } from '../src/main/ipc/dispatch'
import { AppService, bindService } from '../src/main/service'
import { deserializeRecord } from '../src/shared/attention-record'
import { Heatmaps } from '../src/shared/heatmap/heatmaps'
import { DEFAULT_OVERLAY, renderOverlay } from '../src/shared/heatmap/overlay'
import type { OverlaySpec } from '../src/shared/ipc/overlay'
import { AppError } from '../src/shared/ipc/result'
import type { GenerationPayload } from '../src/shared/ipc/payloads'

const MODELS = path.resolve(__dirname, '..', 'models')
const PROMPT = 'a snowman wearing a red hat and a blue scarf around its neck'

function tmp(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix))
}

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p
    return 'resolved'
  } catch (e) {
    return e instanceof AppError ? e.code : `threw ${String(e)}`
  }
}

describe('AppService with the bundled model', () => {
  let userData: string
  let saveDir: string
  let service: AppService
  let first: GenerationPayload

  beforeAll(async () => {
    userData = tmp('daam-svc-')
    saveDir = tmp('daam-save-')
    service = new AppService({
      modelsDir: MODELS,
      userDataDir: userData,
      threads: 1,
      dialogAnswers: { saveFile: saveDir, chooseFolder: path.join(saveDir, 'all') },
    })
    first = await service.generate({ prompt: PROMPT, steps: 6, seed: 3 })
  }, 120_000)

  afterAll(async () => {
    await service.dispose()
    fs.rmSync(userData, { recursive: true, force: true })
    fs.rmSync(saveDir, { recursive: true, force: true })
  })

  it('returns the image, a decodable record, word chips and layer descriptors', async () => {
    const model = await service.currentModel()
    expect(model.bundled).toBe(true)
    expect(model.layers.length).toBeGreaterThan(0)
    expect(first.width).toBe(model.width)
    expect(first.rgb.length).toBe(first.width * first.height * 3)
    const meta = await sharp(first.png).metadata()
    expect([meta.width, meta.height]).toEqual([first.width, first.height])
    const record = deserializeRecord(first.record!)
    expect(record.layers.length).toBe(model.layers.length)
    expect(record.uncond).toBeDefined()
    expect(first.words.map((w) => w.text)).toEqual(PROMPT.split(' '))
    const hat = first.words.find((w) => w.text === 'hat')!
    expect(hat.tokenIndices.length).toBeGreaterThan(0)
    expect(hat.disabledReason).toBeUndefined()
    expect(first.history.saved).toBe(true)
  })

  it('crosses the IPC dispatcher with binary parts as Uint8Array', async () => {
    const dispatch = createDispatcher(bindService(service), { isTrustedSender: () => true })
    const r = await dispatch('history:get', { id: first.id }, { url: 'file:///app/index.html', isMainFrame: true })
    expect(r.ok).toBe(true)
    const p = (r as { value: GenerationPayload }).value
    expect(p.png).toBeInstanceOf(Uint8Array)
    expect(p.rgb).toBeInstanceOf(Uint8Array)
    expect(p.record).toBeInstanceOf(Uint8Array)
    expect(p.layers.map((l) => l.name)).toEqual(deserializeRecord(p.record!).layers.map((l) => l.name))
    // structured clone (what Electron IPC does) keeps them typed
    expect(structuredClone(p).record).toBeInstanceOf(Uint8Array)
  })

  it('stores the generation in the history and restores it after a restart', async () => {
    const again = new AppService({ modelsDir: MODELS, userDataDir: userData })
    const list = await again.listHistory()
    expect(list.items.map((i) => i.id)).toContain(first.id)
    const restored = await again.getHistory(first.id)
    expect(restored.params).toEqual(first.params)
    expect(Buffer.from(restored.rgb).equals(Buffer.from(first.rgb))).toBe(true)
    expect(Buffer.from(restored.record!).equals(Buffer.from(first.record!))).toBe(true)
    expect(restored.words).toEqual(first.words)
  })

  it('saves an overlay PNG identical to the shared renderer output', async () => {
    const hat = first.words.find((w) => w.text === 'hat')!
    const spec: OverlaySpec = {
      ...DEFAULT_OVERLAY,
      words: [{ label: 'hat', tokens: hat.tokenIndices }],
      stream: 'cond',
    }
    const saved = await service.saveOverlay(first.id, spec)
    expect(saved.path).toBe(path.join(saveDir, 'hat.overlay.png'))
    const { data, info } = await sharp(saved.path!).raw().toBuffer({ resolveWithObject: true })
    expect(info.channels).toBe(3)
    const expected = renderOverlay(
      new Heatmaps(deserializeRecord(first.record!), first.width, first.height),
      { data: first.rgb, width: first.width, height: first.height, channels: 3 },
      spec,
    )
    let maxDiff = 0
    for (let i = 0, j = 0; i < info.width * info.height; i++, j += 4) {
      for (let c = 0; c < 3; c++) maxDiff = Math.max(maxDiff, Math.abs(data[i * 3 + c]! - expected[j + c]!))
    }
    expect(maxDiff).toBe(0)
  })

  it('saves all words: overlays, grid, maps and meta.json', async () => {
    const spec: OverlaySpec = { ...DEFAULT_OVERLAY, words: [{ label: 'hat', tokens: [6] }], stream: 'cond' }
    const saved = await service.saveAllWords(first.id, spec)
    const files = fs.readdirSync(saved.path!)
    expect(files).toEqual(
      expect.arrayContaining([
        'meta.json',
        'grid.png',
        'hat.overlay.png',
        'hat.npy',
        'snowman.npy',
        'image.png',
        'raw',
      ]),
    )
    const meta = JSON.parse(fs.readFileSync(path.join(saved.path!, 'meta.json'), 'utf8')) as { params: unknown }
    expect(meta.params).toEqual(first.params)
  })

  it('refuses a second generation while one runs, and cancels', async () => {
    const running = service.generate({ prompt: PROMPT, steps: 40, seed: 1 })
    await new Promise((r) => setTimeout(r, 50))
    expect(await code(service.generate({ prompt: PROMPT, steps: 2 }))).toBe('busy')
    expect(service.cancelGeneration()).toEqual({ cancelled: true })
    expect(await code(running)).toBe('cancelled')
    const after = await service.generate({ prompt: 'a red hat', steps: 2 })
    expect(after.words.map((w) => w.text)).toEqual(['a', 'red', 'hat'])
  }, 60_000)

  it('records negative-prompt maps and shows its words as chips', async () => {
    const g = await service.generate({ prompt: 'a red hat', negativePrompt: 'blue scarf', steps: 3 })
    expect(g.negativeWords.map((w) => w.text)).toEqual(['blue', 'scarf'])
    const record = deserializeRecord(g.record!)
    expect(record.uncond?.tokens).toBe(4) // BOS, blue, scarf, EOS
    const hm = new Heatmaps(record, g.width, g.height)
    const spec: OverlaySpec = {
      ...DEFAULT_OVERLAY,
      stream: 'uncond',
      words: [{ label: 'scarf', tokens: g.negativeWords[1]!.tokenIndices }],
    }
    expect(renderOverlay(hm, { data: g.rgb, width: g.width, height: g.height, channels: 3 }, spec).length).toBe(
      g.width * g.height * 4,
    )
  })

  it('remembers opened model folders across restarts', async () => {
    await service.loadModel(path.join(MODELS, 'daam-shapes'))
    const again = new AppService({ modelsDir: MODELS, userDataDir: userData })
    expect(again.recentModels().map((m) => m.dir)).toEqual([path.join(MODELS, 'daam-shapes')])
  })

  it('gives clear errors for empty prompts and sizes the model cannot make', async () => {
    expect(await code(service.generate({ prompt: '   ' }))).toBe('invalid-params')
    expect(await code(service.generate({ prompt: 'x', width: 100 }))).toBe('invalid-params')
    expect(await code(service.generate({ prompt: 'x', width: 4096 }))).toBe('invalid-params')
  })

  it('reports a broken model folder and keeps the current model', async () => {
    const broken = tmp('daam-broken-')
    fs.writeFileSync(path.join(broken, 'model_index.json'), '{ not json')
    expect(await code(service.loadModel(broken))).toBe('model-invalid')
    expect((await service.currentModel()).bundled).toBe(true)
    fs.rmSync(broken, { recursive: true })
  })

  it('skips a corrupt history entry with a notice', async () => {
    const bad = path.join(userData, 'history', '20200101-000000-000-abcdef')
    fs.mkdirSync(bad, { recursive: true })
    fs.writeFileSync(path.join(bad, 'meta.json'), '{"format":"daam-history/1"')
    const list = await service.listHistory()
    expect(list.skipped.map((s) => s.id)).toContain('20200101-000000-000-abcdef')
    expect(list.items.length).toBeGreaterThan(0)
  })

  it('on a read-only history folder: clear error, the generation is still returned, saved entries stay', async (ctx) => {
    const roData = tmp('daam-ro-')
    const ro = new AppService({ modelsDir: MODELS, userDataDir: roData, threads: 1 })
    const kept = await ro.generate({ prompt: 'a red hat', steps: 2 })
    const undo = makeReadOnly(path.join(roData, 'history'))
    if (!undo) {
      await ro.dispose()
      fs.rmSync(roData, { recursive: true, force: true })
      ctx.skip()
      return
    }
    try {
      const lost = await ro.generate({ prompt: 'a blue scarf', steps: 2 })
      expect(lost.history.saved).toBe(false)
      expect(lost.history.saveError).toMatch(
        /^Could not save this generation to the history: (the disk is read-only|permission denied)\.$/,
      )
      expect((await ro.listHistory()).items.map((i) => i.id)).toEqual([kept.id])
      expect((await ro.getHistory(kept.id)).id).toBe(kept.id)
      expect((await ro.getHistory(lost.id)).id).toBe(lost.id) // still savable this session
    } finally {
      undo()
      await ro.dispose()
      fs.rmSync(roData, { recursive: true, force: true })
    }
  }, 60_000)
})
