/**
 * The engine worker's service: the service's ModelManager and runGeneration on a thread of
 * their own, so that ONNX Runtime's blocking `create` and `run` never hold the main process's
 * event loop (menus, window moves, IPC, Cancel). worker-entry.ts loads it once ONNX Runtime is
 * set up; it answers EngineClient (client.ts) in the protocol of messages.ts.
 */
import { parentPort, workerData } from 'node:worker_threads'
import { fail, ok } from '../../../shared/ipc/result'
import { runAttribution } from '../attributor'
import { runGeneration } from '../generator'
import { runKnockouts } from '../knockouts'
import { ModelManager } from '../models'
import { CancelFlag } from './cancel-flag'
import {
  engineRequestSchema,
  toIpcError,
  transferables,
  workerDataSchema,
  type ParsedEngineRequest,
  type WorkerMessage,
} from './messages'

const port = parentPort
if (!port) throw new Error('engine-thread.ts runs only in the engine worker (started by client.ts)')
const data = workerDataSchema.parse(workerData)
const models = new ModelManager({ bundledDir: data.bundledDir, threads: data.threads, refine: data.refinedMaps })
const cancel = new CancelFlag(data.cancel)

function post(message: WorkerMessage, transfer: ArrayBuffer[] = []): void {
  port!.postMessage(message, transfer)
}

async function perform(request: ParsedEngineRequest): Promise<{ value: unknown; transfer?: ArrayBuffer[] }> {
  switch (request.op) {
    case 'ensure':
      return { value: (await models.ensure()).summary }
    case 'load':
      return { value: (await models.load(request.dir)).summary }
    case 'generate': {
      const active = await models.ensure()
      const payload = await runGeneration(active, request.params, {
        id: request.generationId,
        // EngineClient clears the flag before it posts a generation and sets it on cancel.
        signal: cancel.signal(),
        onProgress: (progress) =>
          post(
            { type: 'progress', id: request.id, progress },
            transferables(progress.preview?.rgb, progress.live?.data),
          ),
      })
      return { value: payload, transfer: transferables(payload.png, payload.rgb, payload.record) }
    }
    case 'knockout': {
      const active = await models.ensure()
      const entries = await runKnockouts(active, request, cancel.signal(), (p) =>
        post({ type: 'progress', id: request.id, progress: p }),
      )
      return { value: entries, transfer: transferables(...entries.flatMap((e) => [e.png, e.change])) }
    }
    case 'attribute': {
      const active = await models.ensure()
      const payload = await runAttribution(active, request, { id: request.generationId })
      return { value: payload, transfer: transferables(payload.png, payload.rgb, payload.record, payload.sourcePng) }
    }
    case 'release':
      await models.release()
      return { value: null }
  }
}

async function handle(raw: unknown): Promise<void> {
  const parsed = engineRequestSchema.safeParse(raw)
  if (!parsed.success) {
    // EngineClient validates before posting, so this is a bug on its side: answer, never hang it.
    const id = (raw as { id?: unknown } | null)?.id
    const message = `The engine received an invalid request: ${parsed.error.issues[0]?.message ?? 'unknown'}`
    if (typeof id === 'number') post({ type: 'reply', id, result: fail('invalid-request', message) })
    return
  }
  const { id } = parsed.data
  try {
    const { value, transfer } = await perform(parsed.data)
    post({ type: 'reply', id, result: ok(value) }, transfer)
  } catch (error) {
    post({ type: 'reply', id, result: { ok: false, error: toIpcError(error) } })
  }
}

// One operation at a time, in the order asked: a generation asked for while a model loads runs on
// that model once it is loaded, instead of on the sessions the load is disposing.
let queue = Promise.resolve()
port.on('message', (raw: unknown) => {
  queue = queue.then(() => handle(raw))
})
