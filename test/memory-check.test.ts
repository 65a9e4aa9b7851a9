/**
 * Memory is checked before it is spent: on the bundled model a 2048² run used to be accepted and
 * then asked ONNX Runtime for a 64 GiB buffer. Now checkRequest refuses it with the sizes and the
 * largest size that fits this machine, and the model summary says that size up front.
 */
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { availableMemory, estimateGenerationMemory, readMemoryProfile } from '../src/main/engine/memory-estimate'
import { checkRequest } from '../src/main/service/generator'
import { ModelManager, type ActiveModel } from '../src/main/service/models'
import { AppError } from '../src/shared/ipc/result'

const BUNDLED = path.resolve(__dirname, '..', 'models', 'daam-shapes')
let models: ModelManager
let active: ActiveModel

beforeAll(async () => {
  models = new ModelManager({ bundledDir: BUNDLED, threads: 1 })
  active = await models.ensure()
}, 60_000)
afterAll(() => models.release())

describe('memory check before a generation', () => {
  it('refuses 2048² on the bundled model with the sizes and the largest size that fits', () => {
    const error = (() => {
      try {
        checkRequest(active, { prompt: 'a red hat', width: 2048, height: 2048 })
        return null
      } catch (e) {
        return e
      }
    })()
    expect(error).toBeInstanceOf(AppError)
    expect((error as AppError).code).toBe('not-enough-memory')
    expect((error as AppError).message).toMatch(
      /^Not enough memory: 2048×2048 needs about \d+ GB; this machine has [\d.]+ GB free; the largest size that fits is (\d+)×\1\.$/,
    )
  })

  it('accepts the default size and the largest fitting size the summary names', () => {
    expect(() => checkRequest(active, { prompt: 'a red hat' })).not.toThrow()
    const fit = active.summary.maxFittingSize!
    expect(fit.width % active.summary.spatialMultiple).toBe(0)
    expect(fit.width).toBeGreaterThanOrEqual(active.summary.width)
    expect(fit.width).toBeLessThan(2048)
    expect(() => checkRequest(active, { prompt: 'a red hat', width: fit.width, height: fit.height })).not.toThrow()
    // and it is the largest: one step up does not fit comfortably (three quarters of free memory)
    const up = fit.width + active.summary.spatialMultiple
    const profile = readMemoryProfile(active.model.folder)
    expect(estimateGenerationMemory(profile, { width: up, height: up, batch: 2 }).extraBytes).toBeGreaterThan(
      availableMemory() * 0.75 * 0.9, // free memory moves while tests run: allow 10 %
    )
  })
})
