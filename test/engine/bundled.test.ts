/**
 * The bundled model (models/daam-shapes) through the engine: folder facts, every sampler, and a
 * float16 variant of its U-Net (test-time rewrite, see fp16.ts) against float32.
 *
 * float16 tolerance: with weights rounded to float16 and float16 inputs/outputs, the final
 * 20-step DDIM latents stay within 5e-3 x (1 + max |latent|) and the images within a mean of
 * 1 level of 255. Measured on the trained model: latents max |diff| 5.8e-3 on values up to 2.3
 * (1.8e-3 of 1 + max), image mean 0.03 levels.
 */
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { LoadedModel, runPipeline } from '../../src/main/engine'
import { SCHEDULER_NAMES } from '../../src/shared/schedulers'
import { toFloat16Model } from './fp16'
import { float16IO } from '../../src/main/engine/float32-io'

const modelDir = join(__dirname, '../../models/daam-shapes')
const present = existsSync(join(modelDir, 'model_index.json'))
let model: LoadedModel

describe('bundled model', () => {
  it('is present', () => {
    expect(present, `bundled model missing at ${modelDir}`).toBe(true)
  })

  beforeAll(async () => {
    if (present) model = await LoadedModel.load(modelDir)
  }, 60_000)
  afterAll(async () => {
    await model?.release()
  })

  it('has the contracted shape: 128 px default, 4x16x16 latents, CLIP tokens, DDIM config', () => {
    const f = model.folder
    expect([f.defaultWidth, f.defaultHeight]).toEqual([128, 128])
    expect(f.vaeScaleFactor).toBe(8)
    expect(model.io.latentChannels).toBe(4)
    expect(model.io.timestep.type).toBe('int64')
    expect(model.io.inputIds.type).toBe('int64')
    expect(f.scheduler.className).toBe('DDIMScheduler')
    const vocabSize = Object.keys(JSON.parse(readFileSync(join(modelDir, 'tokenizer/vocab.json'), 'utf8'))).length
    expect(model.tokenizer.special.bosId).toBe(vocabSize - 2)
    expect(model.tokenizer.special.eosId).toBe(vocabSize - 1)
    expect(model.tokenizer.special.padId).toBe(vocabSize - 1)
  })

  it('runs every sampler to a non-degenerate image', async () => {
    for (const scheduler of SCHEDULER_NAMES) {
      const r = await runPipeline(model, { prompt: 'a red circle', seed: 1, steps: 8, guidance: 5, scheduler })
      expect(r.rgb.length).toBe(128 * 128 * 3)
      let min = 255
      let max = 0
      for (const v of r.rgb) {
        min = Math.min(min, v)
        max = Math.max(max, v)
      }
      expect(max - min, scheduler).toBeGreaterThan(30)
      expect(r.latents.every(Number.isFinite), scheduler).toBe(true)
    }
  }, 300_000)

  it('a float16 U-Net agrees with float32', async () => {
    const params = {
      prompt: 'a blue square on the left of a red circle',
      seed: 5,
      steps: 20,
      guidance: 5,
      scheduler: 'ddim' as const,
    }
    const ref = await runPipeline(model, params)
    const unetModel = toFloat16Model(readFileSync(join(modelDir, 'unet/model.onnx')))
    expect(float16IO(unetModel).inputs).toContain('sample')
    const half = await LoadedModel.load(modelDir, { unetModel })
    try {
      expect(half.io.sample.type).toBe('float32') // float16 inside, float32 boundary (float32-io.ts)
      const r = await runPipeline(half, params)
      let maxLat = 0
      let scale = 0
      for (let i = 0; i < r.latents.length; i++) {
        maxLat = Math.max(maxLat, Math.abs(r.latents[i] - ref.latents[i]))
        scale = Math.max(scale, Math.abs(ref.latents[i]))
      }
      let sum = 0
      for (let i = 0; i < r.rgb.length; i++) sum += Math.abs(r.rgb[i] - ref.rgb[i])
      console.log(
        `fp16 U-Net vs fp32: latents max|d| ${maxLat.toExponential(2)} (scale ${scale.toFixed(2)}), image mean|d| ${(sum / r.rgb.length).toFixed(3)}`,
      )
      expect(maxLat).toBeGreaterThan(0)
      expect(maxLat).toBeLessThanOrEqual(5e-3 * (1 + scale))
      expect(sum / r.rgb.length).toBeLessThanOrEqual(1)
    } finally {
      await half.release()
    }
  }, 300_000)
})
