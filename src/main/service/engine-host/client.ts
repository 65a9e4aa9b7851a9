/**
 * The service's handle on the image engine. ModelManager and runGeneration run in a
 * `worker_threads` worker of this process (engine-thread.ts), so ONNX Runtime's blocking calls
 * never hold the main thread; this class starts it, speaks the protocol in messages.ts, and
 * restarts it after a crash. Caller: AppService, which serves the Electron app, the e2e
 * fixture's in-process service, the tests and the benches alike.
 *
 *  - One generation at a time: `generate` while one is in flight is refused with 'busy'. This
 *    is the service's only guard on generations; the worker runs requests one after another
 *    in the order they were sent, so a generation sent during a load waits for that load.
 *  - Cancel sets a shared flag that the pipeline reads before every U-Net call (cancel-flag.ts).
 *  - Crashes: when the worker dies (an uncaught error, running out of its heap under
 *    `resourceLimits`, an exit), every request in flight fails with 'engine-crashed', which says
 *    why. The next request starts a new worker, which first reloads the last model that loaded.
 *    History and settings live in the service, not here, and are not touched. A native crash
 *    (a segfault in ONNX Runtime) still ends the whole process, since threads share it; only a
 *    separate process (Electron's utilityProcess) would survive one, and it would not serve the
 *    CLIs, tests and Chromium e2e, which run this service in plain Node.
 */
import path from 'node:path'
import { Worker, type ResourceLimits } from 'node:worker_threads'
import type { GenerationParamsInput } from '../../../shared/generation'
import type { GenerationPayload, KnockoutEntry, ModelSummary, ProgressEvent } from '../../../shared/ipc/contract'
import { AppError } from '../../../shared/ipc/result'
import { CancelFlag } from './cancel-flag'
import {
  engineRequestSchema,
  requestError,
  resultSchemas,
  workerMessageSchema,
  type EngineOp,
  type EngineRequest,
  type EngineResults,
  type EngineWorkerData,
} from './messages'
import { resolveEngineWorker, type EngineWorkerSpec } from './worker-path'

export interface EngineClientOptions {
  /** The bundled model, loaded by the first request that needs a model. */
  bundledDir: string
  /** ONNX Runtime intra-op threads (default: ONNX Runtime's choice). */
  threads?: number
  /** Record the self-attention-refined maps too (ServiceOptions.refinedMaps). */
  refinedMaps?: boolean
  /** V8 heap limits of the worker; going over them is reported as 'engine-crashed' (out of memory). */
  resourceLimits?: ResourceLimits
  /** The worker's code; default: `resolveEngineWorker()`. */
  worker?: EngineWorkerSpec
}

type RequestFields<O extends EngineOp> = Omit<Extract<EngineRequest, { op: O }>, 'op' | 'id'>

interface Pending {
  op: EngineOp
  resolve: (value: unknown) => void
  reject: (error: AppError) => void
  onProgress?: (p: ProgressEvent) => void
}

export class EngineClient {
  private worker: Worker | null = null
  private readonly cancelFlag = new CancelFlag()
  private readonly pending = new Map<number, Pending>()
  private nextId = 1
  /** Request id of the generation in flight: the 'busy' state. */
  private generation: number | null = null
  private summary: ModelSummary | null = null
  /** The folder of the last successful load: a restarted worker loads it again. */
  private lastGoodDir: string | null = null

  constructor(private readonly options: EngineClientOptions) {}

  /** True from `generate` until its promise settles (waiting for a load included). */
  get generating(): boolean {
    return this.generation !== null
  }

  /** The model the engine reported last (null before the first load and after release). */
  get current(): ModelSummary | null {
    return this.summary
  }

  /** The current model, loading the bundled one (or, after a restart, the last good one) first. */
  ensure(): Promise<ModelSummary> {
    return this.call('ensure', {})
  }

  /** Loads a model folder; a folder that fails leaves the current model in place. */
  load(dir: string): Promise<ModelSummary> {
    return this.call('load', { dir })
  }

  /** Runs one generation on the current model; 'busy' while one is in flight. */
  generate(
    params: GenerationParamsInput,
    generationId: string,
    onProgress: (p: ProgressEvent) => void,
  ): Promise<GenerationPayload> {
    if (this.generation !== null) {
      return Promise.reject(new AppError('busy', 'A generation is already running. Wait for it or cancel it first.'))
    }
    this.cancelFlag.clear()
    const id = this.nextId // the id call() gives this request
    this.generation = id
    return this.call('generate', { params, generationId }, onProgress).finally(() => {
      if (this.generation === id) this.generation = null
    })
  }

  /**
   * Knock-outs of a generation's words (issue 17) on the current model: they hold the same slot as
   * a generation ('busy' while one runs, `cancel` stops them).
   */
  knockout(
    fields: Omit<Extract<EngineRequest, { op: 'knockout' }>, 'op' | 'id'>,
    onProgress: (p: ProgressEvent & { word?: string }) => void,
  ): Promise<KnockoutEntry[]> {
    if (this.generation !== null) {
      return Promise.reject(new AppError('busy', 'A generation is already running. Wait for it or cancel it first.'))
    }
    this.cancelFlag.clear()
    const id = this.nextId
    this.generation = id
    return this.call('knockout', fields, onProgress).finally(() => {
      if (this.generation === id) this.generation = null
    })
  }

  /** Attributes an existing image on the current model; 'busy' while a generation or attribution runs. */
  attribute(
    image: Uint8Array<ArrayBuffer>,
    name: string,
    prompt: string,
    generationId: string,
    settings?: { timesteps: number; noise: { from: number; to: number } },
  ): Promise<GenerationPayload> {
    if (this.generation !== null) {
      return Promise.reject(new AppError('busy', 'A generation is already running. Wait for it or cancel it first.'))
    }
    const id = this.nextId
    this.generation = id
    return this.call('attribute', { image, name, prompt, generationId, settings }).finally(() => {
      if (this.generation === id) this.generation = null
    })
  }

  /** Stops the running generation before its next U-Net call; false when none runs. */
  cancel(): boolean {
    if (this.generation === null) return false
    this.cancelFlag.set()
    return true
  }

  /**
   * Cancels what runs, frees the model's sessions and stops the worker; the next request starts a
   * new one. It waits for the worker to answer, at most one U-Net call (or the load in progress)
   * later: stopping a thread while it is inside ONNX Runtime aborts the whole process (the binding
   * throws a C++ exception when it cannot hand its results to a terminating thread), so the
   * worker is only terminated once it is back in JavaScript. The same holds for exiting the
   * process: the Electron app awaits this before it quits.
   */
  async release(): Promise<void> {
    this.cancel()
    const worker = this.worker
    if (!worker) return
    await this.call('release', {}).catch(() => undefined)
    if (this.worker === worker) this.worker = null
    this.rejectAll(new AppError('cancelled', 'The image engine was shut down.'))
    this.summary = null
    await worker.terminate()
  }

  private call<O extends EngineOp>(
    op: O,
    fields: RequestFields<O>,
    onProgress?: (p: ProgressEvent) => void,
  ): Promise<EngineResults[O]> {
    const id = this.nextId++
    const message = { ...fields, op, id }
    const checked = engineRequestSchema.safeParse(message)
    if (!checked.success) return Promise.reject(requestError(checked.error))
    let worker: Worker
    try {
      worker = this.worker ?? this.spawn(op !== 'load')
    } catch (error) {
      const why = error instanceof Error ? error.message : String(error)
      return Promise.reject(new AppError('engine-crashed', `The image engine could not start: ${why}`))
    }
    const promise = new Promise<EngineResults[O]>((resolve, reject) => {
      this.pending.set(id, { op, resolve: resolve as (value: unknown) => void, reject, onProgress })
    })
    worker.ref() // a request in flight keeps the process alive; an idle engine does not
    worker.postMessage(message)
    return promise
  }

  private spawn(reloadLastGood: boolean): Worker {
    const spec = this.options.worker ?? resolveEngineWorker()
    const workerData: EngineWorkerData = {
      bundledDir: this.options.bundledDir,
      threads: this.options.threads,
      refinedMaps: this.options.refinedMaps,
      cancel: this.cancelFlag.buffer,
    }
    const worker = new Worker(spec.filename, {
      execArgv: spec.execArgv,
      workerData,
      resourceLimits: this.options.resourceLimits,
    })
    let failure: string | null = null
    worker.on('message', (raw: unknown) => this.onMessage(raw))
    worker.on('error', (error: Error & { code?: string }) => {
      failure =
        error.code === 'ERR_WORKER_OUT_OF_MEMORY'
          ? 'it ran out of memory'
          : `it failed with an error (${error.message || String(error)})`
    })
    worker.on('exit', (code) => this.onExit(worker, code, failure))
    worker.unref()
    this.worker = worker
    // Before the request that started it: the model the user had comes back first. If it fails,
    // `ensure` falls back to the bundled model and the request goes on.
    if (reloadLastGood && this.lastGoodDir) this.call('load', { dir: this.lastGoodDir }).catch(() => undefined)
    return worker
  }

  private onMessage(raw: unknown): void {
    const parsed = workerMessageSchema.safeParse(raw)
    const id = (raw as { id?: unknown } | null)?.id
    const pending = typeof id === 'number' ? this.pending.get(id) : undefined
    if (!pending) return // an answer to a request already failed (crash, bad message)
    if (!parsed.success) {
      this.settle(id as number)
      pending.reject(new AppError('internal', `The image engine sent a malformed message: ${parsed.error.message}`))
      return
    }
    const message = parsed.data
    if (message.type === 'progress') {
      pending.onProgress?.(message.progress as ProgressEvent)
      return
    }
    this.settle(message.id)
    const { result } = message
    if (!result.ok) {
      pending.reject(new AppError(result.error.code, result.error.message))
      return
    }
    const value = resultSchemas[pending.op].safeParse(result.value)
    if (!value.success) {
      pending.reject(
        new AppError('internal', `The image engine sent a malformed ${pending.op} result: ${value.error.message}`),
      )
      return
    }
    if (pending.op === 'load' || pending.op === 'ensure') {
      this.summary = result.value as ModelSummary
      this.lastGoodDir = this.summary.dir
    } else if (pending.op === 'generate' || pending.op === 'attribute') {
      this.lastGoodDir = (result.value as GenerationPayload).model.dir // it may have loaded the bundled model
    } else if (pending.op === 'release') {
      this.summary = null
    }
    pending.resolve(result.value)
  }

  private settle(id: number): void {
    this.pending.delete(id)
    if (this.pending.size === 0) this.worker?.unref()
  }

  private onExit(worker: Worker, code: number, failure: string | null): void {
    if (worker !== this.worker) return // stopped by release()
    this.worker = null
    const why = failure ?? `it exited with code ${code}`
    const restart = this.lastGoodDir
      ? `It restarts with the next request and reloads the model ${path.basename(this.lastGoodDir)}`
      : 'It restarts with the next request'
    this.rejectAll(
      new AppError(
        'engine-crashed',
        `The image engine stopped: ${why}. ${restart}; the history and settings are not affected.`,
      ),
    )
  }

  private rejectAll(error: AppError): void {
    const all = [...this.pending.values()]
    this.pending.clear()
    for (const p of all) p.reject(error)
  }
}
