/**
 * Pipeline behaviour on tiny generated model folders (see tiny-model.ts): determinism, injected
 * noise, guidance batching, timestep/id dtypes, external data, buffers, fp16 boundary, sizes,
 * progress, previews, cancellation, PNG metadata, providers, session caching and the observers'
 * start / step / end lifecycle (the U-Net outputs a patched graph adds).
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { onnx } from 'onnx-proto'
import sharp from 'sharp'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  Engine,
  GenerationCancelledError,
  LoadedModel,
  runPipeline,
  type PipelineObserver,
  type UnetCallPart,
} from './index'
import type { GenerationProgress } from '../../shared/generation'
import { gaussianNoise } from '../../shared/noise'
import { toFloat16Model } from '../../../test/engine/fp16'
import { float16IO, float16IOOfFile } from './float32-io'
import { writeTinyModel } from '../../../test/engine/tiny-model'
import { maxAbsDiff } from '../../../test/helpers/max-abs-diff'

const base = {
  prompt: 'a red circle',
  negativePrompt: 'blue square',
  seed: 3,
  steps: 6,
  guidance: 4,
  scheduler: 'ddim' as const,
}

/** An observer that only collects the guidance part of each U-Net call. */
function partsOf(parts: UnetCallPart[]): { observers: PipelineObserver[] } {
  return { observers: [{ step: (call) => parts.push(call.part) }] }
}

let dir: string
let model: LoadedModel

beforeAll(async () => {
  dir = writeTinyModel()
  model = await LoadedModel.load(dir)
})
afterAll(async () => {
  await model.release()
})

describe('pipeline on a tiny model', () => {
  it('is deterministic per seed and uses the model default size', async () => {
    const a = await runPipeline(model, base)
    const b = await runPipeline(model, base)
    const c = await runPipeline(model, { ...base, seed: 4 })
    expect(a.width).toBe(64)
    expect(a.height).toBe(64)
    expect(a.latentShape).toEqual([1, 4, 8, 8])
    expect(b.latents).toEqual(a.latents)
    expect(Buffer.compare(a.png, b.png)).toBe(0)
    expect(maxAbsDiff(a.latents, c.latents)).toBeGreaterThan(0.1)
    expect(a.unetCalls).toBe(6)
    expect(a.rgb.length).toBe(64 * 64 * 3)
  })

  it('accepts injected initial noise (the seeded noise injected gives the same result)', async () => {
    const seeded = await runPipeline(model, base)
    const injected = await runPipeline(model, { ...base, seed: 999 }, { initialNoise: gaussianNoise(3, 4 * 8 * 8) })
    expect(injected.latents).toEqual(seeded.latents)
    await expect(runPipeline(model, base, { initialNoise: new Float32Array(5) })).rejects.toThrow(
      /initial noise has 5 values, expected 256/,
    )
  })

  it('guidance in one batch-2 call equals two batch-1 calls; guidance <= 1 skips the unconditional pass', async () => {
    const parts: UnetCallPart[] = []
    const batched = await runPipeline(model, base, partsOf(parts))
    expect(parts).toEqual(Array(6).fill('both'))
    expect(batched.textEmbeddingsShape).toEqual([2, 77, 8])

    const dir1 = writeTinyModel({ unetBatch1: true })
    const m1 = await LoadedModel.load(dir1)
    try {
      expect(m1.io.unetBatchFixedAt1).toBe(true)
      const parts1: UnetCallPart[] = []
      const split = await runPipeline(m1, base, partsOf(parts1))
      expect(split.unetCalls).toBe(12)
      expect(parts1.slice(0, 4)).toEqual(['uncond', 'cond', 'uncond', 'cond'])
      expect(maxAbsDiff(split.latents, batched.latents)).toBeLessThan(1e-5)
    } finally {
      await m1.release()
    }

    for (const guidance of [0, 1]) {
      const p: UnetCallPart[] = []
      const r = await runPipeline(model, { ...base, guidance }, partsOf(p))
      expect(r.guided).toBe(false)
      expect(r.unetCalls).toBe(6)
      expect(r.negativeEncoding).toBeNull()
      expect(r.textEmbeddingsShape[0]).toBe(1)
      expect(p).toEqual(Array(6).fill('cond'))
    }
  })

  it('reads timestep and input_ids types from the graph: int64 / float [B] / float scalar / [1], int32 ids', async () => {
    const ref = await runPipeline(model, base)
    const variants = [
      { timestep: 'float' as const },
      { timestep: 'scalar' as const },
      { timestep: 'int64-fixed1' as const },
      { idsInt32: true },
      { textBatch1: true },
    ]
    for (const o of variants) {
      const m = await LoadedModel.load(writeTinyModel(o))
      try {
        if (o.textBatch1) expect(m.io.textBatchFixedAt1).toBe(true)
        const r = await runPipeline(m, base)
        expect(maxAbsDiff(r.latents, ref.latents), JSON.stringify(o)).toBeLessThan(1e-5)
      } finally {
        await m.release()
      }
    }
  })

  it('loads external data from a path and from a model buffer plus the folder', async () => {
    const ext = writeTinyModel({ externalData: true })
    const ref = await runPipeline(model, base)
    const fromPath = await LoadedModel.load(ext)
    const buffer = readFileSync(join(ext, 'unet', 'model.onnx'))
    const fromBuffer = await LoadedModel.load(ext, { unetModel: buffer })
    try {
      expect((await runPipeline(fromPath, base)).latents).toEqual(ref.latents)
      expect((await runPipeline(fromBuffer, base)).latents).toEqual(ref.latents)
    } finally {
      await fromPath.release()
      await fromBuffer.release()
    }
  })

  it('announces the plan, hands the extra outputs of a patched U-Net to step observers, and ends', async () => {
    // Patch: expose the intermediate 'e4' (mean text embedding, [B,1,1,1]) as a graph output.
    const m = onnx.ModelProto.decode(readFileSync(join(dir, 'unet', 'model.onnx')))
    ;(m.graph as onnx.GraphProto).output.push(
      onnx.ValueInfoProto.create({ name: 'e4', type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT } } }),
    )
    const patched = await LoadedModel.load(dir, { unetModel: onnx.ModelProto.encode(m).finish() })
    try {
      const events: string[] = []
      const seen: { i: number; t: number; names: string[]; dims: readonly number[] }[] = []
      const r = await runPipeline(patched, base, {
        observers: [
          {
            start: (plan) => {
              events.push('start')
              expect(plan.timesteps).toEqual([831, 665, 499, 333, 167, 1])
              expect([plan.latentChannels, plan.latentHeight, plan.latentWidth]).toEqual([4, 8, 8])
              expect([plan.guided, plan.batched]).toEqual([true, true])
              expect(plan.encoding.inputIds).toEqual(patched.tokenizer.encode(base.prompt).inputIds)
              expect(plan.negativeEncoding?.inputIds).toEqual(patched.tokenizer.encode(base.negativePrompt).inputIds)
              expect(plan.params.steps).toBe(6)
            },
            step: ({ stepIndex, timestep, outputs, part }) => {
              events.push(`step ${stepIndex} ${part}`)
              seen.push({ i: stepIndex, t: timestep, names: Object.keys(outputs), dims: outputs.e4.dims })
            },
            end: (outcome) => events.push(`end ${outcome.reason} ${outcome.completedSteps}`),
          },
        ],
      })
      expect(events).toEqual(['start', ...[0, 1, 2, 3, 4, 5].map((i) => `step ${i} both`), 'end done 6'])
      expect(seen.map((s) => s.i)).toEqual([0, 1, 2, 3, 4, 5])
      // DDIM, 6 steps, leading spacing with steps_offset 1: t = k * 166 + 1.
      expect(seen.map((s) => s.t)).toEqual([831, 665, 499, 333, 167, 1])
      expect(seen[0].names).toEqual(['e4'])
      expect(seen[0].dims).toEqual([2, 1, 1, 1])
      // The patch adds outputs only: the image is unchanged.
      expect(r.latents).toEqual((await runPipeline(model, base)).latents)
      const plain: string[][] = []
      await runPipeline(model, base, { observers: [{ step: (c) => plain.push(Object.keys(c.outputs)) }] })
      expect(plain[0]).toEqual([])
    } finally {
      await patched.release()
    }
  })

  it('ends observers on cancellation with the steps that ran, and on failure', async () => {
    const ac = new AbortController()
    const ends: string[] = []
    const err = await runPipeline(model, base, {
      signal: ac.signal,
      onProgress: (p) => {
        if (p.step === 3) ac.abort()
      },
      observers: [{ end: (o) => ends.push(`${o.reason} ${o.completedSteps}`) }],
    }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(GenerationCancelledError)
    expect(ends).toEqual(['cancelled 3'])

    const failing = await runPipeline(model, base, {
      observers: [
        {
          step: ({ stepIndex }) => {
            if (stepIndex === 1) throw new Error('observer broke')
          },
          end: (o) => ends.push(`${o.reason} ${o.completedSteps}`),
        },
      ],
    }).catch((e: unknown) => e)
    expect((failing as Error).message).toBe('observer broke')
    expect(ends).toEqual(['cancelled 3', 'failed 1'])
  })

  it('runs a float16 model (inputs, outputs and weights in float16) and agrees with float32', async () => {
    const ref = await runPipeline(model, base)
    const fp16Unet = toFloat16Model(readFileSync(join(dir, 'unet', 'model.onnx')))
    expect(float16IO(fp16Unet).inputs).toEqual(['sample', 'encoder_hidden_states'])
    const m = await LoadedModel.load(dir, { unetModel: fp16Unet })
    try {
      // float16 inside, float32 at the session boundary (engine/float32-io.ts)
      expect(m.io.sample.type).toBe('float32')
      expect(m.io.encoderHiddenStates.type).toBe('float32')
      const r = await runPipeline(m, base)
      // float16 weights and inputs: ~3 significant digits over 6 steps.
      const diff = maxAbsDiff(r.latents, ref.latents)
      expect(diff).toBeGreaterThan(0) // really ran in float16
      expect(diff).toBeLessThan(2e-2)
      expect(maxAbsDiff(r.rgb, ref.rgb)).toBeLessThanOrEqual(3)
    } finally {
      await m.release()
    }
  })

  it('runs a model whose three components are all float16', async () => {
    const ref = await runPipeline(model, base)
    const d16 = writeTinyModel()
    for (const part of ['text_encoder', 'unet', 'vae_decoder']) {
      const p = join(d16, part, 'model.onnx')
      writeFileSync(p, toFloat16Model(readFileSync(p)))
    }
    for (const part of ['text_encoder', 'unet', 'vae_decoder']) {
      expect(float16IOOfFile(join(d16, part, 'model.onnx')).outputs).toHaveLength(1)
    }
    const m = await LoadedModel.load(d16)
    try {
      expect([m.io.hiddenState.type, m.io.sample.type, m.io.latentSample.type]).toEqual([
        'float32',
        'float32',
        'float32',
      ])
      const r = await runPipeline(m, base)
      expect(maxAbsDiff(r.latents, ref.latents)).toBeLessThan(5e-2)
      expect(maxAbsDiff(r.rgb, ref.rgb)).toBeLessThanOrEqual(4)
    } finally {
      await m.release()
    }
  })

  it('any multiple of the spatial multiple, non-square included; other sizes are refused', async () => {
    expect(model.folder.spatialMultiple).toBe(16)
    const r = await runPipeline(model, { ...base, width: 96, height: 32 })
    expect([r.width, r.height]).toEqual([96, 32])
    expect(r.latentShape).toEqual([1, 4, 4, 12])
    expect(r.rgb.length).toBe(96 * 32 * 3)
    const meta = await sharp(r.png).metadata()
    expect([meta.width, meta.height]).toEqual([96, 32])
    await expect(runPipeline(model, { ...base, width: 50 })).rejects.toThrow(/Width 50 px is not a multiple of 16 px/)
    await expect(runPipeline(model, { ...base, steps: 0 })).rejects.toThrow(/invalid generation parameter 'steps'/)
  })

  it('reports progress with ETA and previews, and cancels between steps', async () => {
    const events: GenerationProgress[] = []
    const run = await runPipeline(model, base, { onProgress: (p) => events.push(p), previewEvery: 2 })
    expect(events.map((e) => e.step)).toEqual([1, 2, 3, 4, 5, 6])
    // The first two steps say "warming up" (a fresh session's first calls are slower); from then
    // on the ETA leaves them out: steps 3 and 4 are the mean at step 4, 2 steps remain.
    expect(events.map((e) => e.warmingUp ?? false)).toEqual([true, true, false, false, false, false])
    const [, , s3, s4] = run.timings.stepMs
    expect(events[3].etaMs).toBeCloseTo(((s3 + s4) / 2) * 2, 6)
    expect(events[0].etaMs).toBeCloseTo(run.timings.stepMs[0] * 5, 6)
    expect(events.every((e) => e.total === 6)).toBe(true)
    expect(events[5].etaMs).toBe(0)
    expect(events[5].elapsedMs).toBeGreaterThanOrEqual(events[0].elapsedMs)
    expect(events.filter((e) => e.preview).map((e) => e.step)).toEqual([2, 4, 6])
    expect(events[1].preview!.rgb.length).toBe(8 * 8 * 3)

    const ac = new AbortController()
    const err = await runPipeline(model, base, {
      signal: ac.signal,
      onProgress: (p) => {
        if (p.step === 2) ac.abort()
      },
    }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(GenerationCancelledError)
    expect((err as GenerationCancelledError).code).toBe('cancelled')
    expect((err as Error).message).toBe('cancelled: generation stopped after 2 of 6 steps')
  })

  it('the preview approximates the decoded image', async () => {
    const events: GenerationProgress[] = []
    const r = await runPipeline(model, base, { onProgress: (p) => events.push(p), previewEvery: 6 })
    const prev = events[5].preview!
    // Average the final image over 8x8 blocks and compare with the preview at latent resolution.
    let err = 0
    for (let y = 0; y < 8; y++) {
      for (let x = 0; x < 8; x++) {
        for (let c = 0; c < 3; c++) {
          let s = 0
          for (let dy = 0; dy < 8; dy++)
            for (let dx = 0; dx < 8; dx++) s += r.rgb[((y * 8 + dy) * 64 + x * 8 + dx) * 3 + c]
          err += Math.abs(s / 64 - prev.rgb[(y * 8 + x) * 3 + c])
        }
      }
    }
    expect(err / (8 * 8 * 3)).toBeLessThan(40) // mean error in 0..255 units; tanh VAE is not linear
  })

  it('writes the generation parameters into the PNG (UTF-8 text)', async () => {
    const r = await runPipeline(model, { ...base, prompt: 'a red circle — naïve 🐱' })
    const meta = await sharp(r.png).metadata()
    const comments = Object.fromEntries((meta.comments ?? []).map((c) => [c.keyword, c.text]))
    expect(comments.parameters).toContain('a red circle — naïve 🐱')
    expect(comments.parameters).toContain('Steps: 6, Sampler: ddim, CFG scale: 4, Seed: 3, Size: 64x64')
    const json = JSON.parse(comments['daam-studio']) as Record<string, unknown>
    expect(json).toMatchObject({
      prompt: 'a red circle — naïve 🐱',
      seed: 3,
      steps: 6,
      scheduler: 'ddim',
      provider: 'cpu',
    })
  })

  it('falls back to CPU, and says why, when an unavailable provider is requested', async () => {
    for (const provider of ['coreml', 'cuda'] as const) {
      const m = await LoadedModel.load(dir, { provider })
      try {
        expect(m.provider.requested).toBe(provider)
        expect(m.provider.used).toBe('cpu')
        expect(m.provider.fallbackReason).toMatch(new RegExp(provider))
        const r = await runPipeline(m, { ...base, steps: 1 })
        expect(r.provider.used).toBe('cpu')
      } finally {
        await m.release()
      }
    }
  })
})

describe('Engine', () => {
  it('caches the loaded model and releases it when another is loaded', async () => {
    const engine = new Engine()
    const other = writeTinyModel()
    try {
      const a = await engine.load(dir)
      expect(await engine.load(dir)).toBe(a)
      const r = await runPipeline(a, { ...base, steps: 2 })
      expect(engine.model).toBe(a)
      // Loaded with other options (a provider that falls back): a new model, the old one released.
      const c = await engine.load(dir, { provider: 'coreml' })
      expect(c).not.toBe(a)
      expect(engine.model).toBe(c)
      expect(r.params.steps).toBe(2)
      // A given U-Net buffer always reloads.
      const d = await engine.load(dir, { provider: 'coreml', unetModel: readFileSync(join(dir, 'unet', 'model.onnx')) })
      expect(d).not.toBe(c)
      expect((await runPipeline(d, { ...base, steps: 2 })).latents).toEqual(r.latents)
      const b = await engine.load(other)
      expect(b).not.toBe(c)
      // The earlier models' sessions are gone.
      await expect(runPipeline(a, { ...base, steps: 1 })).rejects.toThrow()
      await expect(runPipeline(c, { ...base, steps: 1 })).rejects.toThrow()
      await expect(runPipeline(d, { ...base, steps: 1 })).rejects.toThrow()
    } finally {
      await engine.release()
    }
    expect(engine.model).toBeNull()
  })
})
