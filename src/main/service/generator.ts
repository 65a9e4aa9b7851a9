/**
 * One generation of the app on the current model: checks the request (size rule, step count,
 * free memory), records the attention through src/main/attention/trace.ts, reports progress with a
 * live preview, honours cancellation before every U-Net call, and turns every failure into an
 * AppError the UI can show. Called in the engine worker (engine-host/engine-thread.ts) and by
 * benches and tests that run the app's own path on their thread.
 */
import { GenerationCancelledError, InvalidParamsError } from '../engine'
import { LiveAttention } from '../attention/live-attention'
import { traceGeneration } from '../attention/trace'
import { assertMemoryFits } from '../engine/memory-estimate'
import { outOfMemoryError } from '../engine/ort-errors'
import { serializeRecord } from '../../shared/attention-record'
import type { GenerationParamsInput } from '../../shared/generation'
import { checkImageSize, MAX_SIDE } from '../../shared/image-size'
import { AppError } from '../../shared/ipc/result'
import type { GenerationPayload, ProgressEvent } from '../../shared/ipc/payloads'
import type { ActiveModel } from './models'
import { wordChips } from './word-chips'

/** Preview every n-th step: cheap (linear decode), but each one crosses IPC. */
const PREVIEW_EVERY = 2

export interface RunOptions {
  id: string
  onProgress: (p: ProgressEvent) => void
  /** Cancellation (in the app: the engine worker's shared flag). */
  signal?: AbortSignal
  /** Attach each step's attention to its progress event for the live maps (default true). */
  liveMaps?: boolean
}

/**
 * Checks what the schema cannot know (the model's size rules, this machine's free memory) with
 * messages for people; returns a warning when the run fits in memory only just.
 */
export function checkRequest(active: ActiveModel, input: GenerationParamsInput): string | undefined {
  if (!input.prompt.trim()) throw new AppError('invalid-params', 'Type a prompt first: the prompt is empty.')
  const { spatialMultiple, width, height } = active.summary
  const problem = checkImageSize(input.width ?? width, input.height ?? height, spatialMultiple)
  if (problem) throw new AppError('invalid-params', problem)
  const size = { width: input.width ?? width, height: input.height ?? height, guidance: input.guidance }
  return assertMemoryFits(active.model, size, MAX_SIDE)
}

/** The schema allows up to MAX_STEPS; a model trained on a shorter schedule has fewer (turbo runs one). */
export function checkStepCount(active: ActiveModel, input: GenerationParamsInput): void {
  const trainSteps = active.model.folder.scheduler.numTrainTimesteps
  const turbo = (input.scheduler ?? active.summary.defaultScheduler) === 'turbo'
  const steps = turbo ? 1 : (input.steps ?? active.summary.defaults.steps)
  if (steps > trainSteps)
    throw new AppError('invalid-params', `${steps} steps is more than this model has: at most ${trainSteps}.`)
}

/**
 * One generation on the active model. Not re-entrant by itself: its callers run one at a time
 * (the engine worker handles requests in order and EngineClient refuses a second start with
 * 'busy', the one guard of generation). Cancel through `options.signal`.
 */
export async function runGeneration(
  active: ActiveModel,
  input: GenerationParamsInput,
  options: RunOptions,
): Promise<GenerationPayload> {
  const { signal } = options
  checkStepCount(active, input)
  const memoryWarning = checkRequest(active, input)
  const { hook } = active
  const live = options.liveMaps !== false && hook.taps.length > 0 ? new LiveAttention(hook.taps) : null
  let words: ProgressEvent['words']
  let result
  try {
    result = await traceGeneration(active, input, {
      signal,
      previewEvery: PREVIEW_EVERY,
      observers: live
        ? [
            live,
            // the chips of the live maps go with the first progress event
            { start: (plan) => void (words = wordChips(plan.encoding)) },
          ]
        : [],
      onProgress: (p) => {
        const event: ProgressEvent = {
          ...p,
          preview: p.preview && { ...p.preview, rgb: new Uint8Array(p.preview.rgb) },
        }
        const step = live?.take()
        if (step) event.live = step
        if (words) {
          event.words = words
          words = undefined
        }
        options.onProgress(event)
      },
    })
  } catch (error) {
    if (error instanceof InvalidParamsError) throw new AppError('invalid-params', error.message)
    if (error instanceof GenerationCancelledError)
      throw new AppError('cancelled', `Cancelled after ${error.completedSteps} of ${error.totalSteps} steps.`)
    if (error instanceof AppError) throw error
    const w = input.width ?? active.summary.width
    const h = input.height ?? active.summary.height
    const oom = outOfMemoryError(error, `generating a ${w}×${h} image`)
    if (oom) throw oom
    throw new AppError(
      'generation-failed',
      `The model failed while generating: ${error instanceof Error ? error.message : String(error)}`,
    )
  }
  const record = result.record ? serializeRecord(result.record) : null
  const noMaps = hook.taps.length === 0 ? (hook.warning ?? 'This model exposes no cross-attention to map.') : undefined
  const r = result.params
  const stepMs = result.timings.stepMs
  return {
    id: options.id,
    createdAt: new Date().toISOString(),
    params: {
      prompt: r.prompt,
      negativePrompt: r.negativePrompt,
      seed: r.seed,
      steps: r.steps,
      guidance: r.guidance,
      scheduler: r.scheduler,
      width: r.width,
      height: r.height,
      ...(r.weights && Object.keys(r.weights).length ? { weights: r.weights } : {}),
      ...(r.negativeWeights && Object.keys(r.negativeWeights).length ? { negativeWeights: r.negativeWeights } : {}),
      ...(r.weightSteps ? { weightSteps: r.weightSteps } : {}),
    },
    model: { name: active.summary.name, dir: active.summary.dir },
    provider: result.provider.used,
    width: result.width,
    height: result.height,
    // Copies: Buffers from pools would drag their whole pool through structured clone.
    png: new Uint8Array(result.png),
    rgb: new Uint8Array(result.rgb),
    record,
    layers: hook.taps.map((t) => ({ index: t.index, name: t.name, block: t.block })),
    words: wordChips(result.encoding, noMaps),
    negativeWords: result.negativeEncoding ? wordChips(result.negativeEncoding, noMaps) : [],
    droppedWords: result.encoding.droppedWords.map((w) => w.text),
    attentionWarning: hook.warning,
    ...(memoryWarning ? { memoryWarning } : {}),
    timings: {
      totalMs: result.timings.totalMs,
      denoiseMs: result.timings.denoiseMs,
      stepMs: stepMs.length ? stepMs.reduce((a, b) => a + b, 0) / stepMs.length : 0,
    },
    history: { saved: false },
  }
}
