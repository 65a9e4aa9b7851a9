/**
 * Text-to-image sampling loop on a LoadedModel: tokenize, encode text, denoise with
 * classifier-free guidance, decode, encode PNG. Callers: src/main/attention/trace.ts (the app's
 * generation runner, the CLI, `npm run eval`, tests) and bench/engine.ts.
 *
 * Observers follow the generation with a start / step / end lifecycle (the attention recorder is
 * one, see src/main/attention/recorder.ts):
 *   - `start(plan)` once, before the first U-Net call: resolved parameters, the scheduler's
 *     timesteps (one U-Net round each; PNDM has steps + 1), both prompt encodings, the latent size,
 *     whether guidance is on and whether its two halves share one batch-2 call;
 *   - `step(call)` after every U-Net call with the outputs other than the predicted noise (the taps
 *     a patched U-Net adds). `part` says which guidance half the call carried: 'both' for a
 *     batch-2 call ([uncond, cond] in that order), 'cond' / 'uncond' when the U-Net takes batch 1
 *     (two calls per step) or guidance is off ('cond' only);
 *   - `end(outcome)` once the denoising loop stops: finished, cancelled between two steps, or
 *     failed. It is not called when the generation fails before start().
 * Without an observer that has `step`, only the noise prediction is fetched from the U-Net: a
 * patched U-Net's taps are then not copied out of ONNX Runtime at all.
 */
import { basename } from 'node:path'
import type * as ort from 'onnxruntime-node'
import {
  modelGenerationDefaults,
  parseGenerationParams,
  type GenerationParams,
  type GenerationParamsInput,
  type GenerationProgress,
  WARM_UP_STEPS,
} from '../../shared/generation'
import { checkImageSize } from '../../shared/image-size'
import { gaussianNoise } from '../../shared/noise'
import { createScheduler, defaultSchedulerName, type SchedulerName } from '../../shared/schedulers'
import type { PromptEncoding } from '../../shared/tokenizer'
import { EmphasisError, parseEmphasis, tokenScale, type ParsedEmphasis } from '../../shared/emphasis'
import { TOKEN_SCALE_INPUT } from '../attention/patch-unet'
import { downweightEmbeddings } from './downweight'
import { fitPreviewMap, previewRgb, vaeOutputToRgb, type PreviewMap } from './image'
import { encodeTextPng } from '../saving/png'
import { gpuOnlyError, type LoadedModel, type ProviderChoice } from './model'
import { floatTensor, idsTensor, readFloat, staticDim, timestepTensor, type TensorMeta } from './tensors'
import { concatLastAxis, sdxlFeeds } from './sdxl'

export type UnetCallPart = 'both' | 'cond' | 'uncond'

/** What a generation will do, announced to observers before the first U-Net call. */
export interface GenerationPlan {
  params: ResolvedParams
  /** The scheduler's timesteps, one U-Net round each (PNDM: steps + 1). */
  timesteps: readonly number[]
  encoding: PromptEncoding
  /** The negative (or empty) prompt's encoding when guidance is on, else null. */
  negativeEncoding: PromptEncoding | null
  latentChannels: number
  latentHeight: number
  latentWidth: number
  /** Classifier-free guidance is on (guidance > 1). */
  guided: boolean
  /** Both guidance halves go through one batch-2 call ('both'); else one call per half. */
  batched: boolean
}

/** One U-Net call, as observers see it. */
export interface UnetCall {
  /** Index of the denoising round (the timestep's index in the plan). */
  stepIndex: number
  timestep: number
  /** The U-Net's outputs other than the predicted noise. */
  outputs: Record<string, ort.Tensor>
  part: UnetCallPart
}

export interface GenerationEnd {
  reason: 'done' | 'cancelled' | 'failed'
  /** Denoising rounds completed (all U-Net calls of each made). */
  completedSteps: number
}

export interface PipelineObserver {
  start?(plan: GenerationPlan): void
  step?(call: UnetCall): void
  end?(outcome: GenerationEnd): void
}

export interface GenerateOptions {
  signal?: AbortSignal
  onProgress?: (p: GenerationProgress) => void
  /** Attach a preview image to every n-th progress event (0 / undefined = never). */
  previewEvery?: number
  /** Initial latent noise [1, C, h, w] (unit variance) instead of the seeded noise. */
  initialNoise?: Float32Array
  observers?: readonly PipelineObserver[]
}

export interface ResolvedParams extends GenerationParams {
  scheduler: SchedulerName
  width: number
  height: number
}

export interface GenerationTimings {
  textEncoderMs: number
  denoiseMs: number
  decodeMs: number
  totalMs: number
  /** Wall time of each denoising step (all U-Net calls of that step plus the scheduler). */
  stepMs: number[]
}

export interface GenerationResult {
  params: ResolvedParams
  model: string
  provider: ProviderChoice
  /** U-Net calls made per image (PNDM makes steps + 1; two per step when batch is fixed at 1). */
  unetCalls: number
  guided: boolean
  width: number
  height: number
  /** Interleaved RGB bytes. */
  rgb: Uint8Array
  /** PNG with the parameters in iTXt chunks ("parameters", "daam-studio"). */
  png: Buffer
  /** Final latents [1, C, h, w] before the 1/scaling_factor that precedes decoding. */
  latents: Float32Array
  latentShape: [number, number, number, number]
  /** Text encoder output [B, L, D]: [uncond, cond] when guided, else [cond]. */
  textEmbeddings: Float32Array
  textEmbeddingsShape: [number, number, number]
  encoding: PromptEncoding
  negativeEncoding: PromptEncoding | null
  timings: GenerationTimings
}

export class GenerationCancelledError extends Error {
  readonly code = 'cancelled'
  constructor(
    readonly completedSteps: number,
    readonly totalSteps: number,
  ) {
    super(`cancelled: generation stopped after ${completedSteps} of ${totalSteps} steps`)
    this.name = 'GenerationCancelledError'
  }
}

/** Parameters a generation cannot run with (schema, or this model's size rules); nothing ran. */
export class InvalidParamsError extends Error {
  readonly code = 'invalid-params'
  constructor(message: string) {
    super(message)
    this.name = 'InvalidParamsError'
  }
}

/** Resolves model-dependent defaults and checks the size against the model's spatial multiple. */
export function resolveParams(model: LoadedModel, input: GenerationParamsInput): ResolvedParams {
  let p: GenerationParams
  // Steps and guidance the user left out are the model's (Turbo models: 1 step, no guidance).
  const d = modelGenerationDefaults(model.folder.scheduler)
  try {
    p = parseGenerationParams({ ...input, steps: input.steps ?? d.steps, guidance: input.guidance ?? d.guidance })
  } catch (e) {
    throw new InvalidParamsError((e as Error).message)
  }
  const f = model.folder
  const scheduler = (p.scheduler as SchedulerName | undefined) ?? defaultSchedulerName(f.scheduler)
  const width = p.width ?? f.defaultWidth
  const height = p.height ?? f.defaultHeight
  const sizeProblem = checkImageSize(width, height, f.spatialMultiple)
  if (sizeProblem) throw new InvalidParamsError(sizeProblem)
  const { sample } = model.io
  const sh = staticDim(sample, 2)
  const sw = staticDim(sample, 3)
  if ((sh && sh * f.vaeScaleFactor !== height) || (sw && sw * f.vaeScaleFactor !== width)) {
    throw new InvalidParamsError(
      `this U-Net only accepts ${(sw ?? 0) * f.vaeScaleFactor}x${(sh ?? 0) * f.vaeScaleFactor} images (static input shape)`,
    )
  }
  return { ...p, scheduler, width, height, steps: scheduler === 'turbo' ? 1 : p.steps }
}

function checkAbort(signal: AbortSignal | undefined, done: number, total: number): void {
  if (signal?.aborted) throw new GenerationCancelledError(done, total)
}

/** What a text encoder reads of a prompt: its ids and, for SDXL's second tokenizer's padding, its length. */
export type TextInput = Pick<PromptEncoding, 'inputIds' | 'length'>

/** What the U-Net is conditioned on, for [uncond, cond] (or [cond]) in the order encoded. */
export interface TextConditioning {
  /** encoder_hidden_states [B, L, D]. */
  hidden: Float32Array
  /** SDXL: text_encoder_2's pooled projection [B, P] (the U-Net's text_embeds); null otherwise. */
  pooled: Float32Array | null
}

/** Runs one text encoder on `encs`, one call per prompt when its batch is fixed at 1; returns the named outputs. */
async function runEncoder(
  session: ort.InferenceSession,
  idsMeta: TensorMeta,
  fixedAt1: boolean,
  ids: readonly number[][],
  names: readonly string[],
): Promise<Float32Array[]> {
  const run = async (rows: readonly number[][]) => {
    const out = await session.run({ input_ids: idsTensor(idsMeta, rows.flat(), rows.length) }, [...names])
    return names.map((n) => readFloat(out[n] as ort.Tensor, 'text encoder output'))
  }
  if (ids.length === 1 || !fixedAt1) return run(ids)
  // Batch fixed at 1: one call per prompt, in order (no concurrent runs on one session).
  const parts: Float32Array[][] = []
  for (const row of ids) parts.push(await run([row]))
  return names.map((_, k) => {
    const all = new Float32Array(parts.reduce((n, p) => n + p[k].length, 0))
    let o = 0
    for (const p of parts) {
      all.set(p[k], o)
      o += p[k].length
    }
    return all
  })
}

/**
 * The conditioning of `encodings` (SD: the text encoder's output; SDXL: both encoders' penultimate
 * hidden states side by side and the pooled embedding, see sdxl.ts). `zeroFirst`: the first
 * encoding is SDXL's empty negative prompt under force_zeros_for_empty_prompt, all zeros.
 */
export async function encodeConditioning(
  model: LoadedModel,
  encodings: readonly TextInput[],
  zeroFirst = false,
): Promise<TextConditioning> {
  const { io, textEncoder } = model
  const ids = encodings.map((e) => e.inputIds)
  const sx = io.sdxl
  if (!sx || !model.sdxl) {
    const [hidden] = await runEncoder(textEncoder, io.inputIds, io.textBatchFixedAt1, ids, [io.hiddenStateName])
    return { hidden, pooled: null }
  }
  const { textEncoder2, tokenizer2 } = model.sdxl
  const [h1] = await runEncoder(textEncoder, io.inputIds, io.textBatchFixedAt1, ids, [sx.penultimate1])
  const ids2 = encodings.map((e) => tokenizer2.repad(e))
  const [h2, pooled] = await runEncoder(textEncoder2, sx.inputIds2, sx.text2BatchFixedAt1, ids2, [
    sx.penultimate2,
    sx.pooledName,
  ])
  const rows = encodings.length * encodings[0].inputIds.length
  const hidden = concatLastAxis(h1, h1.length / rows, h2, h2.length / rows)
  if (zeroFirst) {
    hidden.fill(0, 0, hidden.length / encodings.length)
    pooled.fill(0, 0, pooled.length / encodings.length)
  }
  return { hidden, pooled }
}

/** The U-Net's encoder_hidden_states for `encodings` (callers that need no SDXL pooled embedding). */
export async function encodeText(model: LoadedModel, encodings: readonly TextInput[]): Promise<Float32Array> {
  return (await encodeConditioning(model, encodings)).hidden
}

/**
 * The U-Net inputs besides sample, timestep and encoder_hidden_states that a call carrying `part`
 * needs: SDXL's text_embeds and time_ids; nothing for SD. `cond` is [uncond, cond] when guided.
 */
export function addedConditionFeeds(
  model: LoadedModel,
  cond: TextConditioning,
  guided: boolean,
  part: UnetCallPart,
  width: number,
  height: number,
): Record<string, ort.Tensor> {
  const sx = model.io.sdxl
  if (!sx || !cond.pooled) return {}
  const batch = guided ? 2 : 1
  const rows = part === 'both' ? [0, 1] : part === 'uncond' ? [0] : [batch - 1]
  return sdxlFeeds(sx, cond.pooled, batch, rows, width, height)
}

function extraOutputs(out: ort.InferenceSession.ReturnType, skip: string): Record<string, ort.Tensor> {
  const extra: Record<string, ort.Tensor> = {}
  for (const [k, v] of Object.entries(out)) if (k !== skip) extra[k] = v as ort.Tensor
  return extra
}

/** Per-model preview maps, fitted lazily from one probe decode. */
const previewMaps = new WeakMap<LoadedModel, PreviewMap>()

async function previewMapFor(model: LoadedModel, channels: number): Promise<PreviewMap> {
  const cached = previewMaps.get(model)
  if (cached) return cached
  const f = model.folder
  const lh = staticDim(model.io.latentSample, 2) ?? 16
  const lw = staticDim(model.io.latentSample, 3) ?? 16
  const z = gaussianNoise(12345, channels * lh * lw)
  const scaled = z.map((v) => v / f.scalingFactor)
  const out = await model.vaeDecoder.run({
    latent_sample: floatTensor(model.io.latentSample, scaled, [1, channels, lh, lw]),
  })
  const img = readFloat(out[model.io.imageName] as ort.Tensor, 'VAE output')
  const map = fitPreviewMap(z, channels, lh, lw, img, f.vaeScaleFactor)
  previewMaps.set(model, map)
  return map
}

export async function runPipeline(
  model: LoadedModel,
  input: GenerationParamsInput,
  opts: GenerateOptions = {},
): Promise<GenerationResult> {
  const t0 = performance.now()
  const params = resolveParams(model, input)
  const { io, folder } = model
  const signal = opts.signal

  // Emphasis syntax is not text: the cleaned prompts are encoded, so words and chips map to them.
  const emphasis = parsePromptEmphasis(params.prompt, 'prompt')
  const guided = params.guidance > 1
  const negativeEmphasis = guided ? parsePromptEmphasis(params.negativePrompt, 'negativePrompt') : null
  const encoding = model.tokenizer.encode(emphasis.text)
  const negativeEncoding = negativeEmphasis ? model.tokenizer.encode(negativeEmphasis.text) : null
  const condScale = tokenScale(encoding, emphasis.spans, params.weights)
  const uncondScale = negativeEncoding
    ? tokenScale(negativeEncoding, negativeEmphasis!.spans, params.negativeWeights)
    : null
  const controlled = model.unet.inputNames.includes(TOKEN_SCALE_INPUT)
  if ((condScale || uncondScale) && !controlled) {
    throw new InvalidParamsError(
      'this U-Net was loaded without attention control (fused attention, or heat maps off), so word weights and ' +
        'emphasis cannot apply: set every weight to 1 and remove the (word:w) syntax, or load the model with heat maps',
    )
  }
  const scheduler = createScheduler(params.scheduler, folder.scheduler, params.steps, { eta: params.eta })
  const total = scheduler.timesteps.length
  checkAbort(signal, 0, total)

  const tText = performance.now()
  // SDXL: an empty negative prompt is zeros when the model asks for it (force_zeros_for_empty_prompt).
  const zeroNegative = !!io.sdxl && folder.forceZerosForEmptyPrompt && negativeEmphasis?.text.trim() === ''
  const prompts = negativeEncoding ? [negativeEncoding, encoding] : [encoding]
  const conditioning = await encodeConditioning(model, prompts, zeroNegative)
  const textEmbeddings = conditioning.hidden
  // Weights below 1 also leave the tokens after the word (causal encoder): src/main/engine/downweight.ts
  const weightedEmbeddings = await downweightEmbeddings(
    async (p) => (await encodeConditioning(model, p)).hidden,
    prompts,
    negativeEncoding ? [uncondScale, condScale] : [condScale],
    textEmbeddings,
  )
  const textMs = performance.now() - tText
  const L = encoding.inputIds.length
  const D = textEmbeddings.length / (guided ? 2 : 1) / L

  const C = io.latentChannels
  const h = params.height / folder.vaeScaleFactor
  const w = params.width / folder.vaeScaleFactor
  const n = C * h * w
  const noise = opts.initialNoise ?? gaussianNoise(params.seed, n, 0)
  if (noise.length !== n) {
    throw new Error(`initial noise has ${noise.length} values, expected ${n} for [1, ${C}, ${h}, ${w}]`)
  }
  let latents: Float32Array = new Float32Array(n)
  for (let i = 0; i < n; i++) latents[i] = noise[i] * scheduler.initNoiseSigma

  // Text conditioning tensors are built once and fed to every call.
  const batched = guided && !io.unetBatchFixedAt1
  const ehsTensors = (emb: Float32Array): Record<UnetCallPart, ort.Tensor> => ({
    both: floatTensor(io.encoderHiddenStates, emb, [guided ? 2 : 1, L, D]),
    uncond: floatTensor(io.encoderHiddenStates, emb.subarray(0, L * D), [1, L, D]),
    cond: floatTensor(io.encoderHiddenStates, emb.subarray(guided ? L * D : 0), [1, L, D]),
  })
  // The down-weighted embedding goes with the weights' scale: inside the step window only.
  const ehsOff = ehsTensors(textEmbeddings)
  const ehsOn = weightedEmbeddings ? ehsTensors(weightedEmbeddings) : ehsOff

  const observers = opts.observers ?? []
  // Without a step observer, fetch only the noise prediction (see the header).
  const stepObserved = observers.some((o) => o.step)
  const fetches = stepObserved ? model.unet.outputNames : [io.outSampleName]
  // Attention control: one scale row per guidance half, ones outside the weights' step window.
  const scales = controlled ? scaleTensors(L, condScale, uncondScale) : null
  const window = params.weightSteps
  // SDXL's text_embeds and time_ids per call part, built once like the text tensors.
  const added = {
    both: guided ? addedConditionFeeds(model, conditioning, guided, 'both', params.width, params.height) : {},
    cond: addedConditionFeeds(model, conditioning, guided, 'cond', params.width, params.height),
    uncond: guided ? addedConditionFeeds(model, conditioning, guided, 'uncond', params.width, params.height) : {},
  }
  const callUnet = async (x: Float32Array, batch: number, t: number, part: UnetCallPart) => {
    const on = !window || (currentStep >= window.from && currentStep <= window.to)
    // batch 1 without guidance: 'cond' is the whole (one-prompt) embedding
    const ehs = (on ? ehsOn : ehsOff)[guided ? part : 'both']
    const feeds: Record<string, ort.Tensor> = {
      sample: floatTensor(io.sample, x, [batch, C, h, w]),
      timestep: timestepTensor(io.timestep, t, batch),
      encoder_hidden_states: ehs,
      ...added[part],
    }
    if (scales) feeds[TOKEN_SCALE_INPUT] = (on ? scales.on : scales.off)[part]
    // A U-Net optimised for GPU (packed attention) loads on the CPU provider and fails here: say so plainly.
    const out = await model.unet.run(feeds, fetches).catch((e: unknown) => {
      throw (model.provider.used === 'cpu' && gpuOnlyError(e, model.folder.unetPath)) || e
    })
    return { pred: readFloat(out[io.outSampleName] as ort.Tensor, 'U-Net output'), out }
  }
  const announce = (stepIndex: number, timestep: number, out: ort.InferenceSession.ReturnType, part: UnetCallPart) => {
    if (!stepObserved) return
    const call: UnetCall = { stepIndex, timestep, outputs: extraOutputs(out, io.outSampleName), part }
    for (const o of observers) o.step?.(call)
  }

  const preview = opts.previewEvery && opts.onProgress ? await previewMapFor(model, C) : null
  const stepMs: number[] = []
  let unetCalls = 0
  let completed = 0
  let currentStep = 0
  const plan: GenerationPlan = {
    params,
    timesteps: Array.from(scheduler.timesteps),
    encoding,
    negativeEncoding,
    latentChannels: C,
    latentHeight: h,
    latentWidth: w,
    guided,
    batched,
  }
  for (const o of observers) o.start?.(plan)
  let reason: GenerationEnd['reason'] = 'failed'
  const tLoop = performance.now()
  try {
    for (let i = 0; i < total; i++) {
      checkAbort(signal, i, total)
      currentStep = i
      const tStep = performance.now()
      const t = scheduler.timesteps[i]
      const x = scheduler.scaleModelInput(latents, i)
      let eps: Float32Array
      if (!guided) {
        const r = await callUnet(x, 1, t, 'cond')
        unetCalls++
        announce(i, t, r.out, 'cond')
        eps = r.pred
      } else {
        let u: Float32Array
        let c: Float32Array
        if (batched) {
          const x2 = new Float32Array(2 * n)
          x2.set(x, 0)
          x2.set(x, n)
          const r = await callUnet(x2, 2, t, 'both')
          unetCalls++
          announce(i, t, r.out, 'both')
          u = r.pred.subarray(0, n)
          c = r.pred.subarray(n, 2 * n)
        } else {
          const ru = await callUnet(x, 1, t, 'uncond')
          announce(i, t, ru.out, 'uncond')
          checkAbort(signal, i, total) // before every U-Net call: Cancel lands within one call
          const rc = await callUnet(x, 1, t, 'cond')
          announce(i, t, rc.out, 'cond')
          unetCalls += 2
          u = ru.pred
          c = rc.pred
        }
        eps = new Float32Array(n)
        const g = params.guidance
        for (let k = 0; k < n; k++) eps[k] = u[k] + g * (c[k] - u[k])
      }
      const stepIndex = i
      latents = scheduler.step(eps, i, latents, (count) => gaussianNoise(params.seed, count, stepIndex + 1))
      completed = i + 1
      const now = performance.now()
      stepMs.push(now - tStep)
      if (opts.onProgress) {
        const elapsed = now - tLoop
        // The first steps run slower (warm-up, bench/warm-up.ts): they never enter the mean once
        // later steps exist, and while they are all there is, the latest one stands for the rest.
        const settled = stepMs.slice(WARM_UP_STEPS)
        const perStep = settled.length ? settled.reduce((a, b) => a + b, 0) / settled.length : stepMs[i]
        const progress: GenerationProgress = {
          step: i + 1,
          total,
          elapsedMs: elapsed,
          etaMs: perStep * (total - i - 1),
          ...(i < WARM_UP_STEPS && i + 1 < total ? { warmingUp: true } : {}),
        }
        if (preview && ((i + 1) % opts.previewEvery! === 0 || i + 1 === total)) {
          progress.preview = { width: w, height: h, rgb: previewRgb(preview, latents, h, w) }
        }
        opts.onProgress(progress)
      }
    }
    reason = 'done'
  } catch (e) {
    if (e instanceof GenerationCancelledError) reason = 'cancelled'
    throw e
  } finally {
    for (const o of observers) o.end?.({ reason, completedSteps: completed })
  }
  const denoiseMs = performance.now() - tLoop
  checkAbort(signal, total, total)

  const tDec = performance.now()
  const scaled = new Float32Array(n)
  for (let k = 0; k < n; k++) scaled[k] = latents[k] / folder.scalingFactor
  const dec = await model.vaeDecoder.run({ latent_sample: floatTensor(io.latentSample, scaled, [1, C, h, w]) })
  const image = readFloat(dec[io.imageName] as ort.Tensor, 'VAE output')
  const rgb = vaeOutputToRgb(image, params.width, params.height)
  const modelName = basename(folder.dir)
  const png = await encodeTextPng(rgb, params.width, params.height, 3, {
    parameters: describeParams(params, modelName),
    'daam-studio': JSON.stringify({ ...params, model: modelName, provider: model.provider.used }),
  })
  const decodeMs = performance.now() - tDec

  return {
    params,
    model: folder.dir,
    provider: model.provider,
    unetCalls,
    guided,
    width: params.width,
    height: params.height,
    rgb,
    png,
    latents,
    latentShape: [1, C, h, w],
    textEmbeddings,
    textEmbeddingsShape: [guided ? 2 : 1, L, D],
    encoding,
    negativeEncoding,
    timings: { textEncoderMs: textMs, denoiseMs, decodeMs, totalMs: performance.now() - t0, stepMs },
  }
}

function parsePromptEmphasis(text: string, field: string): ParsedEmphasis {
  try {
    return parseEmphasis(text)
  } catch (e) {
    if (e instanceof EmphasisError)
      throw new InvalidParamsError(`invalid generation parameter '${field}': ${e.message}`)
    throw e
  }
}

const FLOAT32_META: TensorMeta = { name: TOKEN_SCALE_INPUT, type: 'float32', shape: ['batch', 'tokens'] }

/** Scale tensors per call part, with the weights ('on') and all ones ('off'). */
function scaleTensors(
  L: number,
  cond: Float32Array | null,
  uncond: Float32Array | null,
): Record<'on' | 'off', Record<UnetCallPart, ort.Tensor>> {
  const ones = new Float32Array(L).fill(1)
  const make = (c: Float32Array, u: Float32Array): Record<UnetCallPart, ort.Tensor> => {
    const both = new Float32Array(2 * L)
    both.set(u, 0)
    both.set(c, L)
    return {
      both: floatTensor(FLOAT32_META, both, [2, L]),
      cond: floatTensor(FLOAT32_META, c, [1, L]),
      uncond: floatTensor(FLOAT32_META, u, [1, L]),
    }
  }
  return { on: make(cond ?? ones, uncond ?? ones), off: make(ones, ones) }
}

/**
 * The attention-control feed that leaves a controlled U-Net as the plain one (all ones), for the
 * callers that run the U-Net outside runPipeline (attribution); empty for a U-Net without control.
 */
export function neutralControlFeed(model: LoadedModel, batch: number, tokens: number): Record<string, ort.Tensor> {
  if (!model.unet.inputNames.includes(TOKEN_SCALE_INPUT)) return {}
  return { [TOKEN_SCALE_INPUT]: floatTensor(FLOAT32_META, new Float32Array(batch * tokens).fill(1), [batch, tokens]) }
}

/** One-line summary in the widespread "parameters" text-chunk style. */
export function describeParams(p: ResolvedParams, model: string): string {
  return [
    p.prompt,
    `Negative prompt: ${p.negativePrompt}`,
    `Steps: ${p.steps}, Sampler: ${p.scheduler}, CFG scale: ${p.guidance}, Seed: ${p.seed}, Size: ${p.width}x${p.height}, Model: ${model}` +
      weightText(p),
  ].join('\n')
}

/** ", Weights: hat=1.5 scarf=0" (and the negative prompt's, and the step window) when set. */
function weightText(p: ResolvedParams): string {
  const list = (w: Record<string, number> | undefined) =>
    Object.entries(w ?? {})
      .map(([k, v]) => `${k}=${v}`)
      .join(' ')
  const parts = [
    list(p.weights) && `Weights: ${list(p.weights)}`,
    list(p.negativeWeights) && `Negative weights: ${list(p.negativeWeights)}`,
    p.weightSteps && `Weight steps: ${p.weightSteps.from}-${p.weightSteps.to}`,
  ].filter(Boolean)
  return parts.length ? `, ${parts.join(', ')}` : ''
}
