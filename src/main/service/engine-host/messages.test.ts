import { describe, expect, it } from 'vitest'
import { AppError } from '../../../shared/ipc/result'
import {
  engineRequestSchema,
  requestError,
  resultSchemas,
  toIpcError,
  transferables,
  workerMessageSchema,
} from './messages'

const ID = '20260101-000000-000-abcdef'

describe('engine requests', () => {
  it('accept what the service sends, with the contract rules', () => {
    expect(engineRequestSchema.safeParse({ op: 'ensure', id: 1 }).success).toBe(true)
    expect(engineRequestSchema.safeParse({ op: 'load', id: 2, dir: '/models/x' }).success).toBe(true)
    const generate = engineRequestSchema.parse({ op: 'generate', id: 3, generationId: ID, params: { prompt: 'a hat' } })
    expect(generate).toMatchObject({ op: 'generate', params: { prompt: 'a hat', steps: 20 } })
    expect(engineRequestSchema.safeParse({ op: 'release', id: 4 }).success).toBe(true)
  })

  it('refuse unknown operations, extra keys and what the contract refuses', () => {
    for (const bad of [
      { op: 'exec', id: 1 },
      { op: 'ensure', id: -1 },
      { op: 'ensure', id: 1, dir: '/x' },
      { op: 'load', id: 1, dir: '' },
      { op: 'generate', id: 1, generationId: '../etc', params: { prompt: 'x' } },
      { op: 'generate', id: 1, generationId: ID, params: { prompt: 'x', steps: 0 } },
      { op: 'generate', id: 1, generationId: ID, params: { prompt: 'x', shell: 'rm' } },
    ]) {
      expect(engineRequestSchema.safeParse(bad).success, JSON.stringify(bad)).toBe(false)
    }
  })

  it('name the field of bad generation parameters as the engine does', () => {
    const r = engineRequestSchema.safeParse({
      op: 'generate',
      id: 1,
      generationId: ID,
      params: { prompt: 'x', steps: 0 },
    })
    const error = requestError(r.error!)
    expect(error.code).toBe('invalid-params')
    expect(error.message).toMatch(/^invalid generation parameter 'steps': /)
    const load = requestError(engineRequestSchema.safeParse({ op: 'load', id: 1, dir: '' }).error!)
    expect(load.code).toBe('invalid-request')
    expect(load.message).toMatch(/^invalid engine request 'dir': /)
  })
})

describe('worker messages', () => {
  it('carry progress with a byte preview and results in the contract envelope', () => {
    const preview = { width: 2, height: 1, rgb: new Uint8Array(6) }
    expect(
      workerMessageSchema.safeParse({
        type: 'progress',
        id: 1,
        progress: { step: 1, total: 2, elapsedMs: 5, etaMs: 5, preview },
      }).success,
    ).toBe(true)
    expect(workerMessageSchema.safeParse({ type: 'reply', id: 1, result: { ok: true, value: null } }).success).toBe(
      true,
    )
    const failed = { type: 'reply', id: 1, result: { ok: false, error: { code: 'busy', message: 'm' } } }
    expect(workerMessageSchema.safeParse(failed).success).toBe(true)
  })

  it('refuse malformed envelopes and previews that are not bytes', () => {
    for (const bad of [
      { type: 'reply', id: 1, result: { ok: 'yes' } },
      { type: 'reply', id: 1, result: { ok: false, error: { code: 1 } } },
      {
        type: 'progress',
        id: 1,
        progress: { step: 1, total: 2, elapsedMs: 1, etaMs: 1, preview: { width: 1, height: 1, rgb: [0, 0, 0] } },
      },
      { type: 'log', id: 1 },
    ]) {
      expect(workerMessageSchema.safeParse(bad).success, JSON.stringify(bad)).toBe(false)
    }
  })

  it('check the binary parts of a generation and the size of a model', () => {
    const payload = { id: ID, width: 2, height: 2, png: new Uint8Array(3), rgb: new Uint8Array(12), record: null }
    expect(resultSchemas.generate.safeParse({ ...payload, words: [] }).success).toBe(true)
    expect(resultSchemas.generate.safeParse({ ...payload, rgb: Array.from(payload.rgb) }).success).toBe(false)
    expect(resultSchemas.load.safeParse({ dir: '/m', name: 'm', width: 0, height: 128 }).success).toBe(false)
  })
})

describe('transferables', () => {
  it('moves whole buffers once and copies views into larger ones', () => {
    const whole = new Uint8Array(16)
    const part = new Uint8Array(new ArrayBuffer(32), 8, 8)
    const pooled = Buffer.from('small') // a view into Node's shared pool
    expect(transferables(whole, whole, part, pooled, null, undefined)).toEqual([whole.buffer])
  })

  it('moving detaches the sender side, as a transfer should', () => {
    const rgb = new Uint8Array([1, 2, 3])
    const { port1, port2 } = new MessageChannel()
    port1.postMessage(rgb, transferables(rgb))
    port1.close()
    port2.close()
    expect(rgb.byteLength).toBe(0)
  })
})

describe('toIpcError', () => {
  it('keeps AppError codes and labels anything else internal', () => {
    expect(toIpcError(new AppError('model-invalid', 'bad folder'))).toEqual({
      code: 'model-invalid',
      message: 'bad folder',
    })
    expect(toIpcError(new Error('boom'))).toEqual({ code: 'internal', message: 'boom' })
    expect(toIpcError('text')).toEqual({ code: 'internal', message: 'text' })
  })
})
