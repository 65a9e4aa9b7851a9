/**
 * Knock-outs through the service (issue 17) on the bundled model, on the engine worker as the app
 * runs them: knockout:run over the IPC dispatcher, progress events, figures, the knocked-out PNG
 * with its 0 weight, the change map, keeping them with the history entry (a new service restores
 * them), bad words and busy refused with clear messages, and cancel.
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import sharp from 'sharp'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createDispatcher } from '../src/main/ipc/dispatch'
import { AppService, bindService } from '../src/main/service'
import { DEMO_PROMPT, DEMO_SEED } from '../src/shared/generation'
import { colourMask } from '../scripts/colour-key'
import { iou, thresholdMask } from '../src/shared/heatmap/masks'
import type { GenerationPayload, KnockoutEntry, KnockoutProgress } from '../src/shared/ipc/payloads'
import { DEFAULT_OVERLAY } from '../src/shared/heatmap/overlay'
import { readNpy } from '../src/shared/npy'
import { writeTinyModel } from './engine/tiny-model'

const MODELS = path.resolve(__dirname, '..', 'models')

describe('knock-outs through the service', () => {
  let userData: string
  let service: AppService
  let g: GenerationPayload

  beforeAll(async () => {
    userData = fs.mkdtempSync(path.join(os.tmpdir(), 'daam-ko-'))
    service = new AppService({
      modelsDir: MODELS,
      userDataDir: userData,
      threads: 1,
      dialogAnswers: { chooseFolder: path.join(userData, 'export') },
    })
    g = await service.generate({ prompt: DEMO_PROMPT, seed: DEMO_SEED })
  }, 120_000)
  afterAll(async () => {
    await service.dispose()
    fs.rmSync(userData, { recursive: true, force: true })
  })

  it('knocks out "hat" over IPC, with progress, and keeps it with the history entry', async () => {
    const dispatch = createDispatcher(bindService(service), { isTrustedSender: () => true })
    const progress: KnockoutProgress[] = []
    const off = service.events.on('knockout:progress', (p) => progress.push(p))
    const r = await dispatch(
      'knockout:run',
      { id: g.id, words: ['hat'] },
      { url: 'file:///app/index.html', isMainFrame: true },
    )
    off()
    if (!r.ok) throw new Error(r.error.message)
    const entries = r.value as KnockoutEntry[]
    expect(entries.map((e) => e.word)).toEqual(['hat'])
    const hat = entries[0]
    expect(progress).toEqual([expect.objectContaining({ id: g.id, done: 1, total: 1, word: 'hat' })])
    expect(hat.change.length).toBe(g.width * g.height)
    const changed = thresholdMask(
      Float32Array.from(hat.change, (v) => v / 255),
      hat.tau,
    )
    expect(iou(changed, colourMask(g.rgb, 'red'))).toBeGreaterThanOrEqual(0.5)
    expect(hat.changeSize).toBeLessThan(0.25)
    expect(hat.agreement).toBeGreaterThan(0.4)
    expect(hat.disagree).toBe(false)
    const meta = await sharp(Buffer.from(hat.png)).metadata()
    expect(meta.width).toBe(g.width)
    expect(Buffer.from(hat.png).toString('latin1')).toContain('Weights: hat=0')

    // a second word joins; the same word again replaces its entry
    await service.knockOut(g.id, ['scarf'])
    const again = await service.knockOut(g.id, ['hat'])
    expect(again.map((e) => e.word)).toEqual(['scarf', 'hat'])

    // restored by a fresh service from disk
    const other = new AppService({ modelsDir: MODELS, userDataDir: userData, threads: 1 })
    try {
      const back = await other.getHistory(g.id)
      expect(back.knockouts?.map((e) => e.word)).toEqual(['scarf', 'hat'])
      expect(Buffer.compare(Buffer.from(back.knockouts![1].change), Buffer.from(again[1].change))).toBe(0)
      expect(back.knockouts![1].agreement).toBe(again[1].agreement)
    } finally {
      await other.dispose()
    }

    // Save all words exports them: knocked-out image, change map (PNG over the image, and .npy), figures
    fs.mkdirSync(path.join(userData, 'export'))
    const saved = await service.saveAllWords(g.id, { ...DEFAULT_OVERLAY, words: [], stream: 'cond' })
    const exported = JSON.parse(fs.readFileSync(path.join(saved.path!, 'meta.json'), 'utf8'))
    expect(exported.knockouts.map((k: { word: string }) => k.word)).toEqual(['scarf', 'hat'])
    expect(exported.knockouts[1]).toMatchObject({ agreement: again[1].agreement, changeSize: again[1].changeSize })
    const npy = readNpy(fs.readFileSync(path.join(saved.path!, exported.knockouts[1].changeNpy)))
    expect(npy.shape).toEqual([g.height, g.width])
    expect(Math.max(...(npy.data as Float32Array))).toBe(1)
    const png = await sharp(path.join(saved.path!, exported.knockouts[1].changePng)).metadata()
    expect([png.width, png.height]).toEqual([g.width, g.height])
    expect(fs.existsSync(path.join(saved.path!, 'knockouts/hat.knockout.png'))).toBe(true)
  }, 120_000)

  it('refuses words not in the prompt and a knock-out during a generation; cancel stops it', async () => {
    await expect(service.knockOut(g.id, ['umbrella'])).rejects.toThrow(/"umbrella" is not a word of this prompt/)
    const gen = service.generate({ prompt: 'a red circle', seed: 1, steps: 30 })
    await expect(service.knockOut(g.id, ['hat'])).rejects.toMatchObject({ code: 'busy' })
    await gen
    const all = service.knockOut(g.id, ['a', 'snowman', 'wearing', 'red'])
    const off = service.events.on('knockout:progress', () => service.cancelGeneration())
    await expect(all).rejects.toMatchObject({ code: 'cancelled' })
    off()
    // another model loaded: the knock-out would compare two models, so it is refused with the way out
    await service.loadModel(writeTinyModel())
    await expect(service.knockOut(g.id, ['hat'])).rejects.toThrow(/load that model to knock out its words/)
  }, 120_000)
})
