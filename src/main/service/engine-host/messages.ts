/**
 * The engine worker's protocol, built from the IPC contract: requests reuse the contract's request
 * schemas (model:load's folder, generate:start's parameters, a history id), replies carry the
 * contract's Result envelope around ModelSummary / GenerationPayload, progress carries the
 * contract's ProgressEvent. Each side validates what it receives. Callers: client.ts (the
 * service's side) and engine-thread.ts (the engine's side).
 */
import { z } from 'zod'
import {
  channels,
  isResult,
  type GenerationPayload,
  type IpcError,
  type KnockoutEntry,
  type ModelSummary,
  type ProgressEvent,
  type Result,
} from '../../../shared/ipc/contract'
import { AppError } from '../../../shared/ipc/result'

const requestId = z.number().int().nonnegative()
const generationId = channels['history:get'].request.shape.id

export const engineRequestSchema = z.discriminatedUnion('op', [
  /** The current model, loading the bundled one (or the last good one after a restart) first. */
  z.object({ op: z.literal('ensure'), id: requestId }).strict(),
  channels['model:load'].request.extend({ op: z.literal('load'), id: requestId }),
  channels['generate:start'].request.extend({ op: z.literal('generate'), id: requestId, generationId }),
  /** Knock-outs of a generation's words (the service sends the original's image and record). */
  z
    .object({
      op: z.literal('knockout'),
      id: requestId,
      params: channels['generate:start'].request.shape.params,
      words: z
        .array(z.object({ label: z.string().min(1).max(200), tokens: z.array(z.number().int().min(0).max(1024)) }))
        .min(1)
        .max(77),
      rgb: z.instanceof(Uint8Array),
      record: z.instanceof(Uint8Array),
      width: z.number().int().positive(),
      height: z.number().int().positive(),
      /** The model the original came from: a knock-out on another model would compare nothing. */
      modelDir: z.string().min(1),
    })
    .strict(),
  channels['attribute:start'].request.extend({ op: z.literal('attribute'), id: requestId, generationId }),
  /** Frees the model's sessions; the worker stays up. */
  z.object({ op: z.literal('release'), id: requestId }).strict(),
])
export type EngineRequest = z.input<typeof engineRequestSchema>
export type ParsedEngineRequest = z.output<typeof engineRequestSchema>
export type EngineOp = EngineRequest['op']

/** What each operation resolves to. */
export interface EngineResults {
  ensure: ModelSummary
  load: ModelSummary
  generate: GenerationPayload
  knockout: KnockoutEntry[]
  attribute: GenerationPayload
  release: null
}

const bytes = z.instanceof(Uint8Array)
const side = z.number().int().positive()
// Loose: the service checks what it relies on and passes the rest through as the contract types it.
const summarySchema = z.looseObject({ dir: z.string(), name: z.string(), width: side, height: side })
const payloadSchema = z.looseObject({
  id: generationId,
  width: side,
  height: side,
  png: bytes,
  rgb: bytes,
  record: bytes.nullable(),
})
export const resultSchemas = {
  ensure: summarySchema,
  load: summarySchema,
  generate: payloadSchema,
  knockout: z.array(z.looseObject({ word: z.string(), png: bytes, change: bytes })),
  attribute: payloadSchema,
  release: z.null(),
} as const satisfies Record<EngineOp, z.ZodType>

const progressSchema = z.looseObject({
  step: z.number().int(),
  total: z.number().int(),
  elapsedMs: z.number(),
  etaMs: z.number(),
  preview: z.object({ width: side, height: side, rgb: bytes }).optional(),
})

export type WorkerMessage =
  { type: 'progress'; id: number; progress: ProgressEvent } | { type: 'reply'; id: number; result: Result<unknown> }

export const workerMessageSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('progress'), id: requestId, progress: progressSchema }).strict(),
  z.object({ type: z.literal('reply'), id: requestId, result: z.custom<Result<unknown>>(isResult) }).strict(),
])

/** What the worker starts with (`workerData`). */
export const workerDataSchema = z
  .object({
    bundledDir: z.string().min(1),
    threads: z.number().int().positive().optional(),
    refinedMaps: z.boolean().optional(),
    /** The cancel flag's memory (cancel-flag.ts). */
    cancel: z.instanceof(SharedArrayBuffer),
  })
  .strict()
export type EngineWorkerData = z.infer<typeof workerDataSchema>

/**
 * The buffers to move to the other thread instead of copying: each view's buffer when the view
 * covers all of it (a view into a larger buffer, such as Node's Buffer pool, is copied: moving
 * the pool would detach unrelated data, and Node refuses it), each buffer once.
 */
export function transferables(...views: (ArrayBufferView | null | undefined)[]): ArrayBuffer[] {
  const out = new Set<ArrayBuffer>()
  for (const v of views) {
    if (v && v.buffer instanceof ArrayBuffer && v.byteOffset === 0 && v.byteLength === v.buffer.byteLength) {
      out.add(v.buffer)
    }
  }
  return [...out]
}

/** How a failure crosses: an AppError keeps its code, anything else is 'internal' with its message. */
export function toIpcError(error: unknown): IpcError {
  if (error instanceof AppError) return { code: error.code, message: error.message }
  return { code: 'internal', message: error instanceof Error ? error.message : String(error) }
}

/** The error for a request that fails its schema; generation parameters name the field, as the engine does. */
export function requestError(error: z.ZodError): AppError {
  const issue = error.issues[0]!
  if (issue.path[0] === 'params') {
    const field = issue.path.slice(1).join('.') || '(root)'
    return new AppError('invalid-params', `invalid generation parameter '${field}': ${issue.message}`)
  }
  return new AppError('invalid-request', `invalid engine request '${issue.path.join('.')}': ${issue.message}`)
}
