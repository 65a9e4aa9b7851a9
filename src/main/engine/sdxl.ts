/**
 * Stable Diffusion XL, in the layout Optimum exports it: a second text encoder (text_encoder_2,
 * with tokenizer_2) and a U-Net with two more inputs, `text_embeds` (text_encoder_2's pooled
 * projection) and `time_ids` (original size, crop top-left, target size). Callers: model.ts
 * (validateSdxl at load), pipeline.ts (the prompt's conditioning and the extra U-Net feeds for
 * every call) and src/main/attention/attribute.ts (the same feeds for attribution).
 *
 * The contract, from diffusers' StableDiffusionXLPipeline (encode_prompt, _get_add_time_ids) and
 * Optimum's SDXL ONNX configs:
 *   - each encoder runs on the same prompt; the U-Net's encoder_hidden_states are both encoders'
 *     PENULTIMATE hidden states (Optimum's `hidden_states.{N-1}` of N layers) concatenated on the
 *     last axis (768 + 1280 = 2048 for SDXL); the pooled embedding is text_encoder_2's
 *     `text_embeds`;
 *   - tokenizer_2 shares tokenizer/'s vocabulary but pads with its own token ("!" in SDXL), so its
 *     ids are the first tokenizer's ids with the padding replaced: word spans stay shared;
 *   - an empty negative prompt with model_index.json's force_zeros_for_empty_prompt (diffusers'
 *     default) is zeros, hidden states and pooled embedding alike;
 *   - time_ids = (height, width, 0, 0, height, width) in pixels, the same for both guidance halves.
 */
import type * as ort from 'onnxruntime-node'
import { ModelFolderError, type ModelFolder } from './model-folder'
import { floatTensor, staticDim, tensorMeta, type TensorMeta } from './tensors'

export interface SdxlIO {
  /** text_encoder_2's input_ids. */
  inputIds2: TensorMeta
  /** The penultimate hidden-state outputs of text_encoder and text_encoder_2. */
  penultimate1: string
  penultimate2: string
  /** text_encoder_2's pooled projection output. */
  pooledName: string
  /** Widths of the two encoders' hidden states (their sum is the U-Net's cross-attention width). */
  width1: number | undefined
  width2: number | undefined
  /** Width of the pooled embedding (text_embeds). */
  pooledWidth: number | undefined
  textEmbeds: TensorMeta
  timeIds: TensorMeta
  text2BatchFixedAt1: boolean
}

/** The U-Net inputs that make a U-Net SDXL's; a U-Net with any of them needs text_encoder_2. */
export const SDXL_UNET_INPUTS = ['text_embeds', 'time_ids'] as const

export function isSdxlUnet(unet: ort.InferenceSession): boolean {
  return SDXL_UNET_INPUTS.some((n) => unet.inputNames.includes(n))
}

/**
 * The penultimate hidden state among a text encoder's `hidden_states.K` outputs (K = 0 is the
 * embeddings, K = N the last layer before the final layer norm): `hidden_states.{N-1}`.
 */
export function penultimateOutput(session: ort.InferenceSession, path: string): string {
  const ks = session.outputNames
    .map((n) => /^hidden_states\.(\d+)$/.exec(n)?.[1])
    .filter((k): k is string => k !== undefined)
    .map(Number)
  const n = ks.length ? Math.max(...ks) : -1
  if (n < 1 || !ks.includes(n - 1)) {
    throw new ModelFolderError(
      'text-encoder-io',
      path,
      `SDXL text encoder ${path} does not output its hidden states (hidden_states.0 … hidden_states.N), ` +
        `which SDXL conditions on (the penultimate layer); it has ${session.outputNames.join(', ')}. ` +
        `Export it with Optimum (optimum-cli export onnx --model <sdxl-repo>), which adds them.`,
    )
  }
  return `hidden_states.${n - 1}`
}

/** Checks text_encoder_2 and the SDXL U-Net inputs against each other; returns what the pipeline needs. */
export function validateSdxl(
  folder: ModelFolder,
  text: ort.InferenceSession,
  text2: ort.InferenceSession | undefined,
  unet: ort.InferenceSession,
): SdxlIO {
  const up = folder.unetPath
  const missing = SDXL_UNET_INPUTS.filter((n) => !unet.inputNames.includes(n))
  if (missing.length > 0) {
    throw new ModelFolderError(
      'unet-inputs',
      up,
      `U-Net ${up} is SDXL-shaped but lacks input(s) ${missing.join(', ')} (it has ${unet.inputNames.join(', ')}; ` +
        `SDXL needs text_embeds and time_ids)`,
    )
  }
  const t2p = folder.textEncoder2Path
  if (!text2 || !t2p) {
    throw new ModelFolderError(
      'component-missing',
      up,
      `U-Net ${up} is an SDXL U-Net (inputs text_embeds, time_ids), which also needs the second text encoder: ` +
        `${folder.dir} has no text_encoder_2/model.onnx (with tokenizer_2/). Use the complete SDXL export.`,
    )
  }
  if (!text2.inputNames.includes('input_ids')) {
    throw new ModelFolderError(
      'text-encoder-io',
      t2p,
      `text encoder ${t2p} has no 'input_ids' input (it has ${text2.inputNames.join(', ')})`,
    )
  }
  const pooledName = 'text_embeds'
  if (!text2.outputNames.includes(pooledName)) {
    throw new ModelFolderError(
      'text-encoder-io',
      t2p,
      `SDXL's second text encoder ${t2p} has no 'text_embeds' output (the pooled projection the U-Net's ` +
        `text_embeds input takes); it has ${text2.outputNames.join(', ')}`,
    )
  }
  const tp = folder.textEncoderPath
  const penultimate1 = penultimateOutput(text, tp)
  const penultimate2 = penultimateOutput(text2, t2p)
  const width1 = staticDim(tensorMeta(text.outputMetadata, penultimate1, tp), 2) ?? folder.textHiddenSize
  const width2 = staticDim(tensorMeta(text2.outputMetadata, penultimate2, t2p), 2) ?? folder.text2HiddenSize
  const pooled = tensorMeta(text2.outputMetadata, pooledName, t2p)
  const textEmbeds = tensorMeta(unet.inputMetadata, 'text_embeds', up)
  const timeIds = tensorMeta(unet.inputMetadata, 'time_ids', up)
  const pooledWidth = staticDim(pooled, 1)
  const unetPooled = staticDim(textEmbeds, 1)
  if (pooledWidth !== undefined && unetPooled !== undefined && pooledWidth !== unetPooled) {
    throw new ModelFolderError(
      'hidden-size-mismatch',
      t2p,
      `text encoder ${t2p} pools to ${pooledWidth} values but the U-Net ${up} takes text_embeds of ${unetPooled} ` +
        `(mismatched components)`,
    )
  }
  const timeWidth = staticDim(timeIds, 1)
  if (timeWidth !== undefined && timeWidth !== 6) {
    throw new ModelFolderError(
      'unet-inputs',
      up,
      `U-Net ${up}: time_ids has ${timeWidth} values per image; SDXL's base U-Net takes 6 (original size, crop, ` +
        `target size). A refiner (5: with an aesthetic score) is not supported.`,
    )
  }
  for (const m of [textEmbeds, timeIds]) {
    if (m.type !== 'float32') {
      throw new ModelFolderError(
        'unet-inputs',
        up,
        `${up}: input '${m.name}' is ${m.type}, expected float32 or float16`,
      )
    }
  }
  return {
    inputIds2: tensorMeta(text2.inputMetadata, 'input_ids', t2p),
    penultimate1,
    penultimate2,
    pooledName,
    width1,
    width2,
    pooledWidth: pooledWidth ?? unetPooled,
    textEmbeds,
    timeIds,
    text2BatchFixedAt1: staticDim(tensorMeta(text2.inputMetadata, 'input_ids', t2p), 0) === 1,
  }
}

/**
 * Both encoders' hidden states [B, L, D1] and [B, L, D2] interleaved into [B, L, D1 + D2], the
 * concatenation on the last axis that SDXL's U-Net cross-attends over.
 */
export function concatLastAxis(a: Float32Array, d1: number, b: Float32Array, d2: number): Float32Array {
  const rows = a.length / d1
  if (!Number.isInteger(rows) || rows * d2 !== b.length) {
    throw new Error(`text encoder outputs disagree: ${a.length} values of width ${d1} vs ${b.length} of width ${d2}`)
  }
  const out = new Float32Array(rows * (d1 + d2))
  for (let r = 0; r < rows; r++) {
    out.set(a.subarray(r * d1, (r + 1) * d1), r * (d1 + d2))
    out.set(b.subarray(r * d2, (r + 1) * d2), r * (d1 + d2) + d1)
  }
  return out
}

/** SDXL's micro-conditioning for a generated image: no crop, original size = target size. */
export function timeIds(width: number, height: number): Float32Array {
  return Float32Array.of(height, width, 0, 0, height, width)
}

/**
 * The extra U-Net feeds for one call: the pooled embeddings of the halves it carries (`rows` of
 * `pooled` [B, P], B = 1 or 2 in [uncond, cond] order) and the time ids, once per row.
 */
export function sdxlFeeds(
  io: Pick<SdxlIO, 'textEmbeds' | 'timeIds'>,
  pooled: Float32Array,
  batch: number,
  rows: readonly number[],
  width: number,
  height: number,
): Record<string, ort.Tensor> {
  const P = pooled.length / batch
  const emb = new Float32Array(rows.length * P)
  rows.forEach((r, i) => emb.set(pooled.subarray(r * P, (r + 1) * P), i * P))
  const ids = new Float32Array(rows.length * 6)
  for (let i = 0; i < rows.length; i++) ids.set(timeIds(width, height), i * 6)
  return {
    text_embeds: floatTensor(io.textEmbeds, emb, [rows.length, P]),
    time_ids: floatTensor(io.timeIds, ids, [rows.length, 6]),
  }
}

/**
 * What the model picker calls an SDXL folder: SDXL-Turbo ships EulerAncestral with "trailing"
 * spacing (its few-step schedule), SDXL base Euler with "leading". Undefined for SD 1.x / 2.x.
 */
export function modelKind(folder: ModelFolder, io: { sdxl?: SdxlIO }): 'SDXL' | 'SDXL-Turbo' | undefined {
  if (!io.sdxl) return undefined
  const s = folder.scheduler
  return s.className === 'EulerAncestralDiscreteScheduler' && s.timestepSpacing === 'trailing' ? 'SDXL-Turbo' : 'SDXL'
}
