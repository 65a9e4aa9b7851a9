/**
 * The traced generation and the observer lifecycle on a tiny model folder whose U-Net has real
 * cross-attention (test/attention/synthetic-unet.ts, three layers at two resolutions): the
 * recorder sizes itself from the pipeline's plan, a cancel mid-run ends it cleanly with the record
 * cut to the steps that ran, and the hook leaves the image unchanged.
 */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildSyntheticUnet } from '../../../test/attention/synthetic-unet'
import { writeTinyModel } from '../../../test/engine/tiny-model'
import { fromHalf } from '../../shared/float16'
import { GenerationCancelledError, runPipeline, type GenerationPlan } from '../engine/pipeline'
import { AttentionRecorder } from './recorder'
import { loadTracedModel, traceGeneration, type TracedModel } from './trace'

const base = {
  prompt: 'a red circle',
  negativePrompt: 'blue square',
  seed: 7,
  steps: 6,
  guidance: 4,
  scheduler: 'ddim' as const,
}

let dir: string
let traced: TracedModel

beforeAll(async () => {
  dir = writeTinyModel()
  writeFileSync(join(dir, 'unet', 'model.onnx'), buildSyntheticUnet({ layout: '3d', textDim: 8 }))
  traced = await loadTracedModel(dir, { negative: true, threads: 1 })
})
afterAll(async () => {
  await traced.model.release()
})

describe('traceGeneration', () => {
  it('sizes the record from the plan: steps per timestep, latent size, kept tokens of both prompts', async () => {
    expect(traced.hook?.taps).toHaveLength(3)
    // PNDM runs steps + 1 U-Net rounds; 96 x 32 px is a non-square 12 x 4 latent.
    const plans: GenerationPlan[] = []
    const g = await traceGeneration(
      traced,
      { ...base, scheduler: 'pndm', steps: 4, width: 96, height: 32 },
      { observers: [{ start: (p) => plans.push(p) }] },
    )
    const record = g.record!
    expect(plans).toHaveLength(1)
    expect(plans[0].timesteps).toHaveLength(5)
    expect(record.steps).toBe(5)
    expect(record.timesteps).toEqual(plans[0].timesteps)
    expect([record.latentHeight, record.latentWidth]).toEqual([4, 12])
    expect(record.layers.map((l) => [l.height, l.width])).toEqual([
      [4, 12],
      [2, 6],
      [4, 12],
    ])
    expect(record.cond.tokens).toBe(g.encoding.length)
    expect(record.uncond?.tokens).toBe(g.negativeEncoding!.length)
    expect(record.cond.tokens).not.toBe(record.uncond!.tokens)
    expect(record.cond.data[1].length).toBe(5 * record.cond.tokens * 2 * 6)
    // Without guidance there is no negative half to record.
    const unguided = await traceGeneration(traced, { ...base, guidance: 1, steps: 2 })
    expect(unguided.record?.uncond).toBeUndefined()
    expect(unguided.record?.steps).toBe(2)
  })

  it('leaves the image unchanged: the hook only adds outputs', async () => {
    const plain = await loadTracedModel(dir, { attention: false, threads: 1 })
    try {
      expect(plain.hook).toBeNull()
      const a = await traceGeneration(plain, base)
      const b = await traceGeneration(traced, base)
      expect(a.record).toBeNull()
      expect(b.record).not.toBeNull()
      expect(b.latents).toEqual(a.latents)
      expect(Buffer.compare(a.png, b.png)).toBe(0)
    } finally {
      await plain.model.release()
    }
  })

  it('a cancel mid-run ends the recorder cleanly with the record cut to the steps that ran', async () => {
    const full = (await traceGeneration(traced, base)).record!
    const ac = new AbortController()
    const recorder = new AttentionRecorder({ taps: traced.hook!.taps })
    const ends: string[] = []
    const err = await runPipeline(traced.model, base, {
      signal: ac.signal,
      onProgress: (p) => {
        if (p.step === 2) ac.abort()
      },
      observers: [recorder, { end: (o) => ends.push(`${o.reason} ${o.completedSteps}`) }],
    }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(GenerationCancelledError)
    expect(ends).toEqual(['cancelled 2'])
    const cut = recorder.record!
    expect(cut.steps).toBe(2)
    expect(cut.timesteps).toEqual(full.timesteps.slice(0, 2))
    // Same seed, same first steps: the cut record is the full record's prefix, value for value.
    for (const stream of ['cond', 'uncond'] as const) {
      cut[stream]!.data.forEach((d, li) => {
        expect(d.length).toBe(2 * cut[stream]!.tokens * cut.layers[li].height * cut.layers[li].width)
        expect(Array.from(d)).toEqual(Array.from(full[stream]!.data[li].subarray(0, d.length)))
        expect(d.some((v) => fromHalf(v) > 0)).toBe(true)
      })
    }
    // The traced generation itself reports the cancellation as the pipeline does.
    const ac2 = new AbortController()
    await expect(
      traceGeneration(traced, base, {
        signal: ac2.signal,
        onProgress: (p) => {
          if (p.step === 1) ac2.abort()
        },
      }),
    ).rejects.toThrow(/cancelled: generation stopped after 1 of 6 steps/)
  })

  it('a failed generation leaves no record', async () => {
    const recorder = new AttentionRecorder({ taps: traced.hook!.taps })
    const broken = {
      step: ({ stepIndex }: { stepIndex: number }) => {
        if (stepIndex === 2) throw new Error('disk full')
      },
    }
    await expect(runPipeline(traced.model, base, { observers: [recorder, broken] })).rejects.toThrow('disk full')
    expect(recorder.record).toBeNull()
  })
})
