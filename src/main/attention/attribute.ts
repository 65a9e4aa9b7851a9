/**
 * Attributing an image the user already has to the words of a caption: encode it with the model's
 * VAE encoder, noise the latent to a set of timesteps (fixed seed), run the attention-hooked U-Net
 * with the caption once per timestep, and record its cross-attention with the same recorder as a
 * generation (recorder.ts), so every heat map, chip and export works on the result unchanged.
 * Callers: scripts/attribute.ts (the CLI) and bench/attribution-eval.ts (the evidence).
 *
 * Conditional only, by default: each timestep is one U-Net call on the noised latent of the same
 * image, with no sampling trajectory for guidance to steer. Running the unconditional half too
 * (batch 2, `guided: true`) leaves the prompt's attention unchanged: the two halves of a batch do
 * not interact, so the cond maps are the same up to float rounding (measured in
 * test/attribute.test.ts), at twice the cost.
 *
 * Defaults (ATTRIBUTE_DEFAULTS) were picked on the bundled model by bench/attribution-eval.ts (see
 * README, "Attributing an existing image").
 */
import fs from 'node:fs'
import path from 'node:path'
import * as ort from 'onnxruntime-node'
import type { AttentionRecord } from '../../shared/attention-record'
import { gaussianNoise } from '../../shared/noise'
import { alphasCumprod } from '../../shared/schedulers/math'
import type { PromptEncoding } from '../../shared/tokenizer'
import { addedConditionFeeds, encodeConditioning, neutralControlFeed, type GenerationPlan } from '../engine/pipeline'
import { sessionOptions } from '../engine/session-options'
import { floatTensor, readFloat, timestepTensor } from '../engine/tensors'
import { AttentionRecorder } from './recorder'
import type { TracedModel } from './trace'

export interface AttributeSettings {
  /** U-Net calls, one per timestep (the record's "steps"). */
  timesteps: number
  /** Noise levels as fractions of the training schedule (0 = clean, 1 = pure noise), inclusive. */
  noise: { from: number; to: number }
  seed: number
  /** Also run the unconditional half (see the header: same maps, twice the time). */
  guided?: boolean
}

export const ATTRIBUTE_DEFAULTS: AttributeSettings = { timesteps: 8, noise: { from: 0.1, to: 0.5 }, seed: 0 }

export class AttributeError extends Error {
  constructor(
    readonly code: 'no-vae-encoder' | 'no-attention' | 'invalid-settings',
    message: string,
  ) {
    super(message)
    this.name = 'AttributeError'
  }
}

export interface Attribution {
  record: AttentionRecord
  encoding: PromptEncoding
  /** Training timesteps used, noisiest first (record.timesteps). */
  timesteps: number[]
  settings: AttributeSettings
  timings: { encodeMs: number; unetMs: number }
}

/** The timesteps for a noise range: `count` training steps evenly spread, noisiest first. */
export function attributionTimesteps(trainSteps: number, settings: Pick<AttributeSettings, 'timesteps' | 'noise'>) {
  const { timesteps: n, noise } = settings
  if (!Number.isInteger(n) || n < 1 || n > 100) throw new AttributeError('invalid-settings', 'timesteps must be 1..100')
  if (!(noise.from >= 0 && noise.to <= 1 && noise.from <= noise.to))
    throw new AttributeError('invalid-settings', 'the noise range must satisfy 0 <= from <= to <= 1')
  const lo = noise.from * (trainSteps - 1)
  const hi = noise.to * (trainSteps - 1)
  return Array.from({ length: n }, (_, i) => Math.round(n === 1 ? (lo + hi) / 2 : hi - ((hi - lo) * i) / (n - 1)))
}

const encoders = new WeakMap<TracedModel['model'], Promise<ort.InferenceSession>>()

/** The model's VAE encoder session, created once per loaded model. */
function vaeEncoder(traced: TracedModel): Promise<ort.InferenceSession> {
  const { model } = traced
  let s = encoders.get(model)
  if (!s) {
    const file = path.join(model.folder.dir, 'vae_encoder', 'model.onnx')
    if (!fs.existsSync(file))
      throw new AttributeError(
        'no-vae-encoder',
        `The model ${path.basename(model.folder.dir)} has no VAE encoder (vae_encoder/model.onnx): it can generate images but not attribute an existing one.`,
      )
    s = ort.InferenceSession.create(file, sessionOptions({ provider: model.provider.used }))
    encoders.set(model, s)
  }
  return s
}

/** RGB bytes (the model's size) -> scaled latent [1, C, h, w] (the encoder's mean). */
export async function encodeImage(traced: TracedModel, rgb: Uint8Array, width: number, height: number) {
  const session = await vaeEncoder(traced)
  const n = width * height
  const x = new Float32Array(3 * n)
  for (let i = 0; i < n; i++) for (let c = 0; c < 3; c++) x[c * n + i] = (rgb[i * 3 + c]! / 255) * 2 - 1
  const input = session.inputNames[0]!
  const out = await session.run({ [input]: new ort.Tensor('float32', x, [1, 3, height, width]) })
  const params = out[session.outputNames[0]!] as ort.Tensor
  const data = readFloat(params, 'VAE encoder output')
  const C = traced.model.io.latentChannels
  const h = height / traced.model.folder.vaeScaleFactor
  const w = width / traced.model.folder.vaeScaleFactor
  if (data.length < C * h * w) throw new Error(`VAE encoder output has ${data.length} values, expected >= ${C * h * w}`)
  const scale = traced.model.folder.scalingFactor
  const z = new Float32Array(C * h * w)
  for (let i = 0; i < z.length; i++) z[i] = data[i]! * scale // mean: the first C channels
  return { latent: z, channels: C, height: h, width: w }
}

/** Attributes RGB bytes at a size the model supports to the caption's words. */
export async function attributeImage(
  traced: TracedModel,
  image: { rgb: Uint8Array; width: number; height: number },
  prompt: string,
  settings: AttributeSettings = ATTRIBUTE_DEFAULTS,
): Promise<Attribution> {
  const taps = traced.hook?.taps ?? []
  if (taps.length === 0)
    throw new AttributeError('no-attention', traced.hook?.warning ?? 'This model exposes no cross-attention to map.')
  const { model } = traced
  const { io, folder } = model
  const t0 = performance.now()
  const { latent, channels: C, height: h, width: w } = await encodeImage(traced, image.rgb, image.width, image.height)
  const encodeMs = performance.now() - t0
  const timesteps = attributionTimesteps(folder.scheduler.numTrainTimesteps, settings)
  const ac = alphasCumprod(folder.scheduler)

  const encoding = model.tokenizer.encode(prompt)
  const guided = !!settings.guided
  const negativeEncoding = guided ? model.tokenizer.encode('') : null
  // SDXL: the empty negative prompt is zeros when the model asks for it, as in a generation.
  const conditioning = await encodeConditioning(
    model,
    negativeEncoding ? [negativeEncoding, encoding] : [encoding],
    guided && folder.forceZerosForEmptyPrompt,
  )
  const text = conditioning.hidden
  const L = encoding.inputIds.length
  const D = text.length / (guided ? 2 : 1) / L
  const batched = guided && !io.unetBatchFixedAt1
  const ehsAll = floatTensor(io.encoderHiddenStates, text, [guided ? 2 : 1, L, D])
  const ehsCond = guided && !batched ? floatTensor(io.encoderHiddenStates, text.subarray(L * D), [1, L, D]) : ehsAll

  const recorder = new AttentionRecorder({ taps })
  const plan: GenerationPlan = {
    params: undefined as never, // the recorder reads only the sizes, timesteps and encodings
    timesteps,
    encoding,
    negativeEncoding: null, // the prompt's maps only
    latentChannels: C,
    latentHeight: h,
    latentWidth: w,
    guided,
    batched,
  }
  recorder.start(plan)
  const n = C * h * w
  const t1 = performance.now()
  let done = 0
  try {
    for (const [i, t] of timesteps.entries()) {
      const eps = gaussianNoise(settings.seed, n, i)
      const a = Math.sqrt(ac[t]!)
      const b = Math.sqrt(1 - ac[t]!)
      const x = new Float32Array(n)
      for (let k = 0; k < n; k++) x[k] = a * latent[k]! + b * eps[k]!
      const batch = batched ? 2 : 1
      const sample = batched ? new Float32Array(2 * n) : x
      if (batched) {
        sample.set(x, 0)
        sample.set(x, n)
      }
      const ehs = batched ? ehsAll : ehsCond
      const out = await model.unet.run({
        sample: floatTensor(io.sample, sample, [batch, C, h, w]),
        timestep: timestepTensor(io.timestep, t, batch),
        encoder_hidden_states: ehs,
        ...addedConditionFeeds(
          model,
          conditioning,
          guided,
          batched ? 'both' : 'cond',
          w * folder.vaeScaleFactor,
          h * folder.vaeScaleFactor,
        ),
        // word weights do not apply to an attribution: a controlled U-Net runs as the plain one
        ...neutralControlFeed(model, batch, ehs.dims[1]!),
      })
      const outputs: Record<string, ort.Tensor> = {}
      for (const [k, v] of Object.entries(out)) if (k !== io.outSampleName) outputs[k] = v as ort.Tensor
      recorder.step({ stepIndex: i, timestep: t, outputs, part: batched ? 'both' : 'cond' })
      done = i + 1
    }
    recorder.end({ reason: 'done', completedSteps: done })
  } catch (error) {
    recorder.end({ reason: 'failed', completedSteps: done })
    throw error
  }
  const record = recorder.record
  if (!record) throw new Error('the attribution recorded nothing')
  return { record, encoding, timesteps, settings, timings: { encodeMs, unetMs: performance.now() - t1 } }
}
