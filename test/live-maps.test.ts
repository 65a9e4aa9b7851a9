/**
 * Live maps on the bundled model: every progress event of an app generation (through the service
 * and its engine worker) carries that step's coarse-layer attention; folded into a LiveRecord the
 * steps give the same word maps as the finished record restricted to those layers.
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import sharp from 'sharp'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { AppService } from '../src/main/service'
import { deserializeRecord, type AttentionRecord } from '../src/shared/attention-record'
import { aggregateTokens } from '../src/shared/heatmap/aggregate'
import { iou, thresholdMask } from '../src/shared/heatmap/masks'
import { settlingCurve } from '../src/shared/heatmap/settling'
import { latentWordMaps, minMaxNormalize, toImageSize } from '../src/shared/heatmap/word-maps'
import { DEFAULT_OVERLAY } from '../src/shared/heatmap/overlay'
import type { OverlaySpec } from '../src/shared/ipc/overlay'
import type { GenerationPayload, ProgressEvent } from '../src/shared/ipc/payloads'
import { LiveRecord, liveStepBytes } from '../src/shared/live-attention'

const MODELS = path.resolve(__dirname, '..', 'models')
const PROMPT = 'a red circle above a blue square'

describe('live maps through the engine worker', () => {
  let userData: string
  let service: AppService
  let payload: GenerationPayload
  const events: ProgressEvent[] = []

  beforeAll(async () => {
    userData = fs.mkdtempSync(path.join(os.tmpdir(), 'daam-live-'))
    service = new AppService({
      modelsDir: MODELS,
      userDataDir: userData,
      threads: 1,
      dialogAnswers: { chooseFolder: path.join(userData, 'saved'), saveFile: userData },
    })
    service.events.on('generate:progress', (p) => events.push(p))
    payload = await service.generate({ prompt: PROMPT, steps: 8, seed: 5 })
  }, 120_000)

  afterAll(async () => {
    await service.dispose()
    fs.rmSync(userData, { recursive: true, force: true })
  })

  it('sends one small live step per progress event, and the chips on the first', () => {
    expect(events.map((e) => e.step)).toEqual([1, 2, 3, 4, 5, 6, 7, 8])
    expect(events[0]!.words?.map((w) => w.text)).toEqual(payload.words.map((w) => w.text))
    expect(events.slice(1).every((e) => e.words === undefined)).toBe(true)
    const record = deserializeRecord(payload.record!)
    for (const [i, e] of events.entries()) {
      const live = e.live!
      expect(live.step).toBe(i)
      expect(live.timestep).toBe(record.timesteps[i])
      expect(live.tokens).toBe(record.cond.tokens)
      expect(live.data.byteLength).toBe(liveStepBytes(live.tokens, live.height, live.width))
      // the coarsest non-mid layers of the record
      const noMid = record.layers.filter((l) => l.block !== 'mid')
      const min = Math.min(...noMid.map((l) => l.height))
      expect(live.height).toBe(min)
      expect(live.layers).toEqual(noMid.filter((l) => l.height === min).map((l) => l.index))
    }
    // far smaller than the record per step
    expect(events[0]!.live!.data.byteLength * 8).toBeLessThan(payload.record!.byteLength / 4)
  })

  it('folds into maps that match the finished record on the same layers, at every step', () => {
    const record = deserializeRecord(payload.record!)
    const live = new LiveRecord()
    const words = payload.words.filter((w) => !w.disabledReason).map((w) => ({ label: w.text, tokens: w.tokenIndices }))
    for (const [i, e] of events.entries()) {
      live.add(e.live!)
      const lr = live.record() as AttentionRecord
      expect(lr.steps).toBe(i + 1)
      const layers = e.live!.layers
      // word maps min-max normalised on the latent grid, to compare their shapes
      const want = latentWordMaps(aggregateTokens(record, { layers, steps: { from: 0, to: i } }), words).map(
        minMaxNormalize,
      )
      const got = latentWordMaps(aggregateTokens(lr, {}), words).map(minMaxNormalize)
      for (let w = 0; w < words.length; w++) {
        let worst = 0
        let sum = 0
        for (let p = 0; p < want[w]!.length; p++) {
          const d = Math.abs(want[w]![p]! - got[w]![p]!)
          worst = Math.max(worst, d)
          sum += d
        }
        // the layer mean is taken before the upsample's clamp (the record clamps each layer): close, not equal
        expect(worst, `${words[w]!.label} at step ${i + 1}`).toBeLessThan(0.1)
        expect(sum / want[w]!.length, `${words[w]!.label} at step ${i + 1}`).toBeLessThan(0.01)
      }
    }
  })

  it('gives each word a settling curve that matches whole-prompt masks on the real record', () => {
    const record = deserializeRecord(payload.record!)
    const words = payload.words.filter((w) => !w.disabledReason).map((w) => ({ label: w.text, tokens: w.tokenIndices }))
    const size = { width: payload.width, height: payload.height }
    const mask = (k: number): Uint8Array[] => {
      const tm = aggregateTokens(record, { steps: { from: 0, to: k } })
      return latentWordMaps(tm, words).map((m) =>
        thresholdMask(toImageSize(m, tm.height, tm.width, size.height, size.width), 0.4),
      )
    }
    const final = mask(record.steps - 1)
    const early = mask(2)
    for (const [w, word] of words.entries()) {
      const c = settlingCurve(record, word, size)
      expect(c.iou).toHaveLength(8)
      expect(c.iou[2]).toBeCloseTo(iou(early[w]!, final[w]!), 10)
      expect(c.iou[7]).toBe(1)
      expect(c.settledAt).toBeGreaterThanOrEqual(1)
      expect(c.iou.slice(c.settledAt - 1).every((v) => v >= 0.9)).toBe(true)
    }
  })

  it("writes every word's settling curve into Save all words' meta.json", async () => {
    const record = deserializeRecord(payload.record!)
    const circle = payload.words.find((w) => w.text === 'circle')!
    const spec: OverlaySpec = {
      ...DEFAULT_OVERLAY,
      words: [{ label: 'circle', tokens: circle.tokenIndices }],
      stream: 'cond',
    }
    const saved = await service.saveAllWords(payload.id, spec)
    const meta = JSON.parse(fs.readFileSync(path.join(saved.path!, 'meta.json'), 'utf8')) as {
      words: { word: string; settling: { iou: number[]; settledAt: number } }[]
    }
    expect(meta.words.map((w) => w.word)).toEqual([...new Set(payload.words.map((w) => w.text))])
    const saved0 = meta.words.find((w) => w.word === 'circle')!.settling
    const want = settlingCurve(
      record,
      { label: 'circle', tokens: circle.tokenIndices },
      { width: payload.width, height: payload.height },
    )
    expect(saved0).toEqual(want)
  })

  it("saves a time-lapse of the picked word from the window's channel, and refuses a spec that does not fit", async () => {
    const circle = payload.words.find((w) => w.text === 'circle')!
    const spec: OverlaySpec = {
      ...DEFAULT_OVERLAY,
      words: [{ label: 'circle', tokens: circle.tokenIndices }],
      stream: 'cond',
    }
    const saved = await service.saveTimelapse(payload.id, spec)
    expect(path.basename(saved.path!)).toBe('circle.timelapse.webp')
    const info = await sharp(saved.path!, { animated: true }).metadata()
    expect(info).toMatchObject({ format: 'webp', pages: 8, width: 2 * payload.width })
    const bad = { ...spec, words: [{ label: 'x', tokens: [60] }] }
    await expect(service.saveTimelapse(payload.id, bad)).rejects.toThrow(/does not fit this generation/)
  })

  it('refuses a step out of order', () => {
    const live = new LiveRecord()
    expect(() => live.add(events[1]!.live!)).toThrow(/arrived before step 0/)
  })
})
