/**
 * "Generate with attention", in one place: load a model with the U-Net patched by the attention
 * hook, and run one traced generation that returns the image and its attention record. Callers:
 * the app's model manager and generation runner (src/main/service/models.ts, generator.ts), the
 * CLI (scripts/generate.ts), the evaluation (scripts/eval.ts), benches and tests.
 *
 * The record sizes itself from the pipeline's plan (the recorder is a pipeline observer), so
 * nothing here repeats the pipeline's preparation.
 */
import type { AttentionRecord } from '../../shared/attention-record'
import type { GenerationParamsInput } from '../../shared/generation'
import type { Engine } from '../engine/engine'
import { LoadedModel, type LoadOptions } from '../engine/model'
import { inspectModelFolder } from '../engine/model-folder'
import { runPipeline, type GenerateOptions, type GenerationResult } from '../engine/pipeline'
import { prepareAttentionHook } from './hook'
import type { TapInfo } from './patch-unet'
import { AttentionRecorder } from './recorder'

/** What a traced model knows of its attention taps (the patched bytes are not kept). */
export interface TraceHook {
  /** Tapped layers; empty when the model's attention cannot be tapped (fused kernels). */
  taps: readonly TapInfo[]
  /** Why there are no heat maps for this model, when there are none. */
  warning?: string
}

export interface TracedModel {
  model: LoadedModel
  /** The hook the U-Net was patched with; null when it was loaded without one (`attention: false`). */
  hook: TraceHook | null
}

export interface TraceLoadOptions extends Omit<LoadOptions, 'unetModel'> {
  /** Patch the U-Net with the attention hook (default). false: the plain U-Net, images only. */
  attention?: boolean
  /** Also tap the unconditional half of guidance, for the negative prompt's maps. */
  negative?: boolean
  /**
   * Record every head's map instead of the in-graph head mean (issue 16): DAAM's exact per-head
   * clamp, at heads x the record's size (src/shared/attention-record.ts has the formula).
   */
  perHead?: boolean
  /** Also record the self-attention-refined maps (the "refined" overlay method; not with perHead). */
  refine?: boolean
  /**
   * Attention control (default on with `attention`): the U-Net takes a per-token scale of its
   * cross-attention, which word weights, emphasis and knock-outs use; the pipeline feeds ones
   * when no weight is set, which leaves the output as the plain U-Net's.
   */
  control?: boolean
  /** Hold the model in this engine (which releases the one it held); else the caller releases it. */
  engine?: Engine
}

/** Loads a model folder with its U-Net patched by the attention hook. */
export async function loadTracedModel(dir: string, options: TraceLoadOptions = {}): Promise<TracedModel> {
  const {
    attention = true,
    negative = false,
    perHead = false,
    refine = false,
    control = true,
    engine,
    ...load
  } = options
  let hook: TraceHook | null = null
  let unetModel: Uint8Array | undefined
  if (attention) {
    // Static checks first: a broken folder gets its precise message before any patching.
    const patched = prepareAttentionHook(inspectModelFolder(dir).unetPath, { negative, perHead, refine, control })
    hook = { taps: patched.taps, warning: patched.warning }
    // Without taps the file itself is loaded: ORT then maps it instead of copying a buffer.
    if (patched.taps.length > 0) unetModel = patched.model
  }
  const loadOptions: LoadOptions = { ...load, unetModel }
  const model = engine ? await engine.load(dir, loadOptions) : await LoadedModel.load(dir, loadOptions)
  return { model, hook }
}

export type TraceOptions = GenerateOptions

export interface TracedGeneration extends GenerationResult {
  /** The attention record; null when the model has no taps. */
  record: AttentionRecord | null
}

/**
 * One generation on a traced model, recording its attention when the model has taps. Failures and
 * cancellation propagate as runPipeline throws them (InvalidParamsError,
 * GenerationCancelledError, ...). Extra observers in `options.observers` see the generation too.
 */
export async function traceGeneration(
  traced: TracedModel,
  input: GenerationParamsInput,
  options: TraceOptions = {},
): Promise<TracedGeneration> {
  const taps = traced.hook?.taps ?? []
  const recorder = taps.length > 0 ? new AttentionRecorder({ taps }) : null
  const observers = recorder ? [recorder, ...(options.observers ?? [])] : options.observers
  const result = await runPipeline(traced.model, input, { ...options, observers })
  return { ...result, record: recorder?.record ?? null }
}
