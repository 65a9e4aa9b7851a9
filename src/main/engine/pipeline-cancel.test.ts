/**
 * Cancel lands before the next U-Net call, not only between steps: with a U-Net whose batch is
 * fixed at 1, a guided step makes two calls (unconditional, then conditional), and a cancel that
 * arrives during the first must stop the second (the engine worker's Cancel, issue 12 §3).
 */
import { afterAll, beforeAll, expect, it } from 'vitest'
import { GenerationCancelledError, LoadedModel, runPipeline, type UnetCallPart } from './index'
import { writeTinyModel } from '../../../test/engine/tiny-model'

let model: LoadedModel

beforeAll(async () => {
  model = await LoadedModel.load(writeTinyModel({ unetBatch1: true }))
})
afterAll(async () => {
  await model.release()
})

it('a cancel during the unconditional call of a step stops before its conditional call', async () => {
  expect(model.io.unetBatchFixedAt1).toBe(true)
  const ac = new AbortController()
  const calls: [number, UnetCallPart][] = []
  const err = await runPipeline(
    model,
    { prompt: 'a red circle', negativePrompt: 'blue square', seed: 3, steps: 6, guidance: 4, scheduler: 'ddim' },
    {
      signal: ac.signal,
      observers: [
        {
          step: ({ stepIndex, part }) => {
            calls.push([stepIndex, part])
            if (stepIndex === 1 && part === 'uncond') ac.abort()
          },
        },
      ],
    },
  ).catch((e: unknown) => e)
  expect(err).toBeInstanceOf(GenerationCancelledError)
  expect((err as Error).message).toBe('cancelled: generation stopped after 1 of 6 steps')
  expect(calls).toEqual([
    [0, 'uncond'],
    [0, 'cond'],
    [1, 'uncond'],
  ])
})
