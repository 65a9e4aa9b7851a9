/**
 * Runs generations on the current model, one at a time: a second start while one runs is refused
 * with code 'busy' (two runs would fight over one ONNX Runtime session and the CPU). Records the
 * attention through the hook, reports progress with a live preview, honours cancellation between
 * steps, and turns every failure into an AppError the UI can show.
 */
import { GenerationCancelledError, resolveParams, runPipeline } from '../engine'
import type { AttentionRecorder } from '../attention/recorder'
import { serializeRecord } from '../../shared/attention-record'
import type { GenerationParamsInput } from '../../shared/generation'
import { createScheduler } from '../../shared/schedulers'
import { AppError } from '../../shared/ipc/result'
import type { GenerationPayload, ProgressEvent } from '../../shared/ipc/payloads'
import type { ActiveModel } from './models'
import { wordChips } from './words'

/** Largest image side we accept: far beyond any SD model, small enough not to exhaust memory. */
export const MAX_SIDE = 2048
/** Preview every n-th step: cheap (linear decode), but each one crosses IPC. */
const PREVIEW_EVERY = 2

export interface RunOptions {
  id: string
  onProgress: (p: ProgressEvent) => void
  /** Cancellation owned by the caller (the engine worker's shared flag) instead of cancel(). */
  signal?: AbortSignal
}

/** Checks what the schema cannot know (the model's size rules) with messages for people. */
export function checkRequest(active: ActiveModel, input: GenerationParamsInput): void {
  if (!input.prompt.trim()) throw new AppError('invalid-params', 'Type a prompt first: the prompt is empty.')
  const { spatialMultiple: m, width: dw, height: dh } = active.summary
  for (const [name, v] of [
    ['Width', input.width ?? dw],
    ['Height', input.height ?? dh],
  ] as const) {
    if (v > MAX_SIDE) throw new AppError('invalid-params', `${name} ${v} px is too large: at most ${MAX_SIDE} px.`)
    if (v < m || v % m !== 0)
      throw new AppError(
        'invalid-params',
        `${name} ${v} px must be a multiple of ${m} (this model's size step), at least ${m}.`,
      )
  }
}

export class GenerationRunner {
  private controller: AbortController | null = null

  get running(): boolean {
    return this.controller !== null
  }

  cancel(): boolean {
    if (!this.controller) return false
    this.controller.abort()
    return true
  }

  async run(active: ActiveModel, input: GenerationParamsInput, options: RunOptions): Promise<GenerationPayload> {
    if (this.controller) throw new AppError('busy', 'A generation is already running. Wait for it or cancel it first.')
    const controller = new AbortController()
    this.controller = controller
    try {
      return await this.runNow(active, input, options, options.signal ?? controller.signal)
    } finally {
      this.controller = null
    }
  }

  private async runNow(
    active: ActiveModel,
    input: GenerationParamsInput,
    options: RunOptions,
    signal: AbortSignal,
  ): Promise<GenerationPayload> {
    checkRequest(active, input)
    const { model, hook } = active
    let params
    try {
      params = resolveParams(model, input)
    } catch (error) {
      throw new AppError('invalid-params', error instanceof Error ? error.message : String(error))
    }
    // The recorder must know its shape before the first step; the pipeline encodes the same prompt.
    const encoding = model.tokenizer.encode(params.prompt)
    const guided = params.guidance > 1
    const negative = guided ? model.tokenizer.encode(params.negativePrompt) : null
    const calls = createScheduler(params.scheduler, model.folder.scheduler, params.steps).timesteps.length
    let recorder: AttentionRecorder | undefined
    if (hook.taps.length > 0) {
      recorder = hook.recorder({
        latentHeight: params.height / model.folder.vaeScaleFactor,
        latentWidth: params.width / model.folder.vaeScaleFactor,
        steps: calls,
        condTokens: encoding.length,
        uncondTokens: negative?.length,
      })
    }
    let result
    try {
      result = await runPipeline(model, params, {
        signal,
        previewEvery: PREVIEW_EVERY,
        onProgress: (p) =>
          options.onProgress({ ...p, preview: p.preview && { ...p.preview, rgb: new Uint8Array(p.preview.rgb) } }),
        onUnetOutputs: recorder
          ? (step, t, outputs, part) => recorder.onUnetOutputs(step, t, outputs, part)
          : undefined,
      })
    } catch (error) {
      if (error instanceof GenerationCancelledError)
        throw new AppError('cancelled', `Cancelled after ${error.completedSteps} of ${error.totalSteps} steps.`)
      if (error instanceof AppError) throw error
      throw new AppError(
        'generation-failed',
        `The model failed while generating: ${error instanceof Error ? error.message : String(error)}`,
      )
    }
    const record = recorder ? serializeRecord(recorder.finish()) : null
    const noMaps =
      hook.taps.length === 0 ? (hook.warning ?? 'This model exposes no cross-attention to map.') : undefined
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
      timings: {
        totalMs: result.timings.totalMs,
        denoiseMs: result.timings.denoiseMs,
        stepMs: stepMs.length ? stepMs.reduce((a, b) => a + b, 0) / stepMs.length : 0,
      },
      history: { saved: false },
    }
  }
}
