/**
 * A loaded model: ONNX Runtime sessions for text encoder, U-Net and VAE decoder, the tokenizer,
 * and everything the pipeline reads from the graphs' input/output metadata. Validation of the
 * graphs happens here, before any generation runs.
 *
 * The U-Net can come from a buffer (the copy the attention hook patched to expose extra outputs,
 * see src/main/attention/trace.ts; a test's float16 rewrite). ORT then has no file path to resolve
 * external data against, so the session options point it at the U-Net's folder.
 */
import { dirname } from 'node:path'
// First: turns ONNX Runtime's telemetry off before the binding loads (see telemetry.ts).
import './telemetry'
import * as ort from 'onnxruntime-node'
import { withFloat32IO } from './float32-io'
import type { ExecutionProviderName } from '../../shared/generation'
import { mayHaveExternalData, prepareExternalData } from './external-data'
import { modelWeightBytes } from './memory-estimate'
import {
  inspectModelFolder,
  MAX_ONNX_BYTES,
  ModelFolderError,
  readRegularBytes,
  withVaeScaleFactor,
  type ModelFolder,
} from './model-folder'
import { ortBackendName, sessionOptions, type SessionSettings } from './session-options'
import { floatTensor, staticDim, tensorMeta, type TensorMeta } from './tensors'
import { ClipTokenizer } from './tokenizer'
import { isSdxlUnet, validateSdxl, type SdxlIO } from './sdxl'

/** Provider (CPU is the default and the fallback), threads and spinning: see SessionSettings. */
export interface LoadOptions extends Pick<SessionSettings, 'provider' | 'threads' | 'spinning'> {
  /** A (possibly patched) U-Net model to use instead of unet/model.onnx; external data still comes from unet/. */
  unetModel?: Uint8Array
}

export interface ModelIO {
  inputIds: TensorMeta
  hiddenState: TensorMeta // text encoder output
  hiddenStateName: string
  sample: TensorMeta
  timestep: TensorMeta
  encoderHiddenStates: TensorMeta
  outSampleName: string
  latentSample: TensorMeta
  imageName: string
  /** True when the U-Net's batch dimension is fixed at 1 (guidance then takes two calls). */
  unetBatchFixedAt1: boolean
  textBatchFixedAt1: boolean
  latentChannels: number
  hiddenSize: number | undefined
  maxTokens: number
  /** SDXL: the second text encoder's and the extra U-Net inputs' contract (see sdxl.ts). */
  sdxl?: SdxlIO
}

/** SDXL's second text encoder and tokenizer (see sdxl.ts). */
export interface SdxlParts {
  textEncoder2: ort.InferenceSession
  tokenizer2: ClipTokenizer
}

export interface ProviderChoice {
  requested: ExecutionProviderName
  used: ExecutionProviderName
  /** Why the requested provider was not used, when it was not. */
  fallbackReason?: string
}

type SessionTuning = Pick<SessionSettings, 'threads' | 'spinning' | 'weightBytes'>

async function createSession(
  source: string | Uint8Array,
  path: string,
  provider: ExecutionProviderName,
  tuning: SessionTuning,
): Promise<ort.InferenceSession> {
  try {
    // Float32 at the boundary: onnxruntime-node 1.30 cannot take float16 tensors on Node 24 (see float32-io.ts).
    source = withFloat32IO(source)
    // External weights: ORT never maps the user's files, only a private copy or bytes in memory (external-data.ts).
    const model =
      typeof source === 'string' && mayHaveExternalData(source) ? readRegularBytes(source, MAX_ONNX_BYTES) : source
    if (typeof model === 'string')
      return await ort.InferenceSession.create(model, sessionOptions({ provider, ...tuning }))
    const ext = prepareExternalData(model, dirname(path))
    try {
      // From a buffer ORT has no file path: point it at the folder holding the external data.
      const options = sessionOptions({ provider, ...tuning, externalDataDir: ext.folder })
      const { externalData } = ext
      return await ort.InferenceSession.create(ext.model, externalData.length ? { ...options, externalData } : options)
    } finally {
      ext.done()
    }
  } catch (e) {
    const msg = (e as Error).message.split('\n')[0]
    if (provider === 'cpu') {
      const gpu = gpuOnlyError(e, path)
      if (gpu) throw gpu
    }
    throw new ModelFolderError(
      'onnx-unreadable',
      path,
      `cannot load ONNX model ${path} (corrupt, truncated or unsupported): ${msg}`,
    )
  }
}

/**
 * Ops that ONNX Runtime's transformer optimizer writes for CUDA/DirectML only (its defaults for
 * Stable Diffusion U-Nets and VAEs); the CPU provider has no kernel for them.
 */
const GPU_ONLY_OPS = new Set(['NhwcConv', 'GroupNorm', 'SkipGroupNorm', 'BiasSplitGelu', 'BiasAdd'])

/**
 * What the CPU provider says when a graph was optimised for GPU: no kernel for a GPU-only op at
 * session creation ("Could not find an implementation for NhwcConv(1) node ..."), or, at the first
 * run, MultiHeadAttention with packed Q/K/V ("Packed KV not implemented for CPU"). Returns the
 * plain error to show instead, or undefined for any other error. Callers: createSession here, the
 * U-Net call in pipeline.ts.
 */
export function gpuOnlyError(error: unknown, path: string): ModelFolderError | undefined {
  const msg = (error instanceof Error ? error.message : String(error)).split('\n')[0]
  const op = /implementation for (\w+)\(/.exec(msg)?.[1]
  const what =
    op && GPU_ONLY_OPS.has(op)
      ? `${op} nodes`
      : /Packed (QKV|KV)\b.*not implemented for CPU/i.test(msg)
        ? 'MultiHeadAttention with packed Q/K/V'
        : undefined
  if (!what) return undefined
  return new ModelFolderError(
    'onnx-unreadable',
    path,
    `${path} is optimised for GPU: needs the CUDA/DirectML provider. ONNX Runtime's optimizer wrote ` +
      `${what}, which the CPU provider cannot run. Pick CUDA or DirectML, or use an export optimised ` +
      `for CPU (or not optimised) on this machine. (${msg})`,
  )
}

/** Available ORT backends in this build (cuda/dml/coreml may be absent). */
function providerAvailable(p: ExecutionProviderName): boolean {
  if (p === 'cpu') return true
  try {
    return ort.listSupportedBackends().some((b) => b.name === ortBackendName(p))
  } catch {
    return false
  }
}

export class LoadedModel {
  private constructor(
    readonly folder: ModelFolder,
    readonly tokenizer: ClipTokenizer,
    readonly textEncoder: ort.InferenceSession,
    readonly unet: ort.InferenceSession,
    readonly vaeDecoder: ort.InferenceSession,
    readonly io: ModelIO,
    readonly provider: ProviderChoice,
    /** SDXL's second text encoder and tokenizer; null for SD 1.x / 2.x models. */
    readonly sdxl: SdxlParts | null = null,
  ) {}

  static async load(dir: string, opts: LoadOptions = {}): Promise<LoadedModel> {
    const folder = inspectModelFolder(dir)
    let tokenizer: ClipTokenizer
    try {
      tokenizer = new ClipTokenizer(folder.tokenizerDir)
    } catch (e) {
      throw new ModelFolderError('tokenizer-missing', folder.tokenizerDir, `bad tokenizer: ${(e as Error).message}`)
    }
    const requested = opts.provider ?? 'cpu'
    let used: ExecutionProviderName = requested
    let fallbackReason: string | undefined
    if (!providerAvailable(requested)) {
      used = 'cpu'
      fallbackReason = `${requested} is not available in this ONNX Runtime build`
    }
    const sessions: ort.InferenceSession[] = []
    // The whole model's size picks every session's memory settings (memoryPolicy in session-options.ts).
    const tuning: SessionTuning = {
      threads: opts.threads,
      spinning: opts.spinning,
      weightBytes: modelWeightBytes(folder),
    }
    const make = async (src: string | Uint8Array, path: string) => {
      try {
        const s = await createSession(src, path, used, tuning)
        sessions.push(s)
        return s
      } catch (e) {
        if (used !== 'cpu') {
          // The provider exists but failed (missing driver/runtime): retry on CPU and say why.
          fallbackReason = `${used} failed to start: ${(e as Error).message}`
          used = 'cpu'
          const s = await createSession(src, path, used, tuning)
          sessions.push(s)
          return s
        }
        throw e
      }
    }
    try {
      const textEncoder = await make(folder.textEncoderPath, folder.textEncoderPath)
      const t2 = folder.textEncoder2Path
      const textEncoder2 = t2 ? await make(t2, t2) : undefined
      const unet = await make(opts.unetModel ?? folder.unetPath, folder.unetPath)
      const vae = await make(folder.vaeDecoderPath, folder.vaeDecoderPath)
      const io = validateSessions(folder, textEncoder, unet, vae, textEncoder2)
      const measured = folder.vaeScaleFactorKnown
        ? folder
        : withVaeScaleFactor(folder, await vaeScaleFactor(vae, io, folder))
      tokenizer =
        io.maxTokens === tokenizer.special.maxLength ? tokenizer : new ClipTokenizer(folder.tokenizerDir, io.maxTokens)
      const sdxl = io.sdxl && textEncoder2 ? { textEncoder2, tokenizer2: secondTokenizer(folder, tokenizer, io) } : null
      // a text_encoder_2/ beside a U-Net that does not read it (not SDXL) is not kept
      if (textEncoder2 && !sdxl) await textEncoder2.release()
      const provider = { requested, used, fallbackReason }
      return new LoadedModel(measured, tokenizer, textEncoder, unet, vae, io, provider, sdxl)
    } catch (e) {
      await Promise.all(sessions.map((s) => s.release().catch(() => undefined)))
      throw e
    }
  }

  async release(): Promise<void> {
    const second = this.sdxl ? [this.sdxl.textEncoder2.release()] : []
    await Promise.all([this.textEncoder.release(), this.unet.release(), this.vaeDecoder.release(), ...second])
  }
}

/**
 * SDXL's tokenizer_2: the same vocabulary and special tokens as tokenizer/ (the pipeline shares
 * the first tokenizer's ids and word spans), its own pad token, read from its files.
 */
function secondTokenizer(folder: ModelFolder, first: ClipTokenizer, io: ModelIO): ClipTokenizer {
  const dir = folder.tokenizer2Dir!
  let t: ClipTokenizer
  try {
    t = new ClipTokenizer(dir, io.maxTokens)
  } catch (e) {
    throw new ModelFolderError('tokenizer-missing', dir, `bad tokenizer: ${(e as Error).message}`)
  }
  const why = first.differenceFrom(t)
  if (why) {
    throw new ModelFolderError(
      'tokenizer-missing',
      dir,
      `${dir} does not match ${folder.tokenizerDir}: ${why}. SDXL's two tokenizers share one vocabulary; ` +
        `this export mixes components.`,
    )
  }
  return t
}

/** Latent side of the probe decode: small, so even SD's VAE decodes it in well under a second. */
const PROBE_LATENT = 8

/**
 * Measures the VAE decoder's pixels per latent cell by decoding a small latent, for folders whose
 * config does not state it. The graph itself is the authority: counting Resize nodes would miss
 * exports that upsample by ConvTranspose or DepthToSpace. A decoder that cannot be probed, or whose
 * output is not an integer multiple of its input, is refused at load, before any generation.
 */
async function vaeScaleFactor(vae: ort.InferenceSession, io: ModelIO, folder: ModelFolder): Promise<number> {
  const vp = folder.vaeDecoderPath
  const h = staticDim(io.latentSample, 2) ?? PROBE_LATENT
  const w = staticDim(io.latentSample, 3) ?? PROBE_LATENT
  const C = io.latentChannels
  let dims: readonly number[]
  try {
    const out = await vae.run({
      latent_sample: floatTensor(io.latentSample, new Float32Array(C * h * w), [1, C, h, w]),
    })
    dims = (out[io.imageName] as ort.Tensor).dims
  } catch (e) {
    throw new ModelFolderError(
      'vae-io',
      vp,
      `${folder.dir}: vae_decoder/config.json does not state the VAE's scale factor and a probe decode of a ` +
        `${h}x${w} latent failed: ${(e as Error).message.split('\n')[0]}`,
    )
  }
  const fy = dims.length === 4 ? dims[2] / h : NaN
  const fx = dims.length === 4 ? dims[3] / w : NaN
  if (!Number.isInteger(fy) || fy < 1 || fy !== fx || dims[1] !== 3) {
    throw new ModelFolderError(
      'vae-io',
      vp,
      `${folder.dir}: vae_decoder/config.json does not state the VAE's scale factor, and the decoder turns a ` +
        `[1, ${C}, ${h}, ${w}] latent into [${dims.join(', ')}], not an RGB image an integer factor larger. ` +
        `Add vae_decoder/config.json with block_out_channels.`,
    )
  }
  return fy
}

function outputName(
  s: ort.InferenceSession,
  preferred: string,
  path: string,
  code: 'text-encoder-io' | 'unet-inputs' | 'vae-io',
): string {
  if (s.outputNames.includes(preferred)) return preferred
  if (s.outputNames.length === 0) throw new ModelFolderError(code, path, `${path} has no outputs`)
  return s.outputNames[0]
}

/** Checks the three graphs against each other and the configs; returns what the pipeline needs. */
export function validateSessions(
  folder: ModelFolder,
  text: ort.InferenceSession,
  unet: ort.InferenceSession,
  vae: ort.InferenceSession,
  text2?: ort.InferenceSession,
): ModelIO {
  const tp = folder.textEncoderPath
  const up = folder.unetPath
  const vp = folder.vaeDecoderPath

  const required = ['sample', 'timestep', 'encoder_hidden_states']
  const missing = required.filter((n) => !unet.inputNames.includes(n))
  if (missing.length > 0) {
    throw new ModelFolderError(
      'unet-inputs',
      up,
      `U-Net ${up} lacks input(s) ${missing.join(', ')}; it has ${unet.inputNames.join(', ')} (expected sample, timestep, encoder_hidden_states)`,
    )
  }
  if (!text.inputNames.includes('input_ids')) {
    throw new ModelFolderError(
      'text-encoder-io',
      tp,
      `text encoder ${tp} has no 'input_ids' input (it has ${text.inputNames.join(', ')})`,
    )
  }
  if (!vae.inputNames.includes('latent_sample')) {
    throw new ModelFolderError(
      'vae-io',
      vp,
      `VAE decoder ${vp} has no 'latent_sample' input (it has ${vae.inputNames.join(', ')})`,
    )
  }
  // SDXL: the prompt embedding is both encoders' penultimate hidden states side by side (sdxl.ts).
  const sdxl = isSdxlUnet(unet) ? validateSdxl(folder, text, text2, unet) : undefined
  if (!sdxl && text2) {
    throw new ModelFolderError(
      'unet-inputs',
      up,
      `${folder.dir} has a second text encoder (text_encoder_2, as SDXL) but its U-Net ${up} takes no ` +
        `text_embeds / time_ids: the components do not belong together`,
    )
  }
  const sample = tensorMeta(unet.inputMetadata, 'sample', up)
  const timestep = tensorMeta(unet.inputMetadata, 'timestep', up)
  const ehs = tensorMeta(unet.inputMetadata, 'encoder_hidden_states', up)
  const inputIds = tensorMeta(text.inputMetadata, 'input_ids', tp)
  const latentSample = tensorMeta(vae.inputMetadata, 'latent_sample', vp)
  const hiddenStateName = sdxl?.penultimate1 ?? outputName(text, 'last_hidden_state', tp, 'text-encoder-io')
  const hiddenState = tensorMeta(text.outputMetadata, hiddenStateName, tp)

  for (const [m, path] of [
    [sample, up],
    [ehs, up],
    [latentSample, vp],
  ] as const) {
    if (m.type !== 'float32' && m.type !== 'float16') {
      throw new ModelFolderError(
        'unet-inputs',
        path,
        `${path}: input '${m.name}' is ${m.type}, expected float32 or float16`,
      )
    }
  }
  if (sample.shape.length !== 4) {
    throw new ModelFolderError(
      'unet-inputs',
      up,
      `U-Net ${up}: 'sample' must have rank 4 [B, C, H, W], has rank ${sample.shape.length}`,
    )
  }

  // Latent channels: U-Net input, the VAE's latent input and the configs must agree.
  const unetC = staticDim(sample, 1) ?? folder.unetInChannels
  const vaeC = staticDim(latentSample, 1) ?? folder.latentChannels ?? 4
  if (unetC !== undefined && unetC !== vaeC) {
    throw new ModelFolderError(
      'latent-channels',
      up,
      `wrong latent channels: U-Net ${up} takes ${unetC}-channel latents but the VAE decoder decodes ${vaeC} channels` +
        (unetC === 9 ? ' (an inpainting U-Net is not supported)' : ''),
    )
  }
  if (
    folder.unetInChannels !== undefined &&
    staticDim(sample, 1) !== undefined &&
    folder.unetInChannels !== staticDim(sample, 1)
  ) {
    throw new ModelFolderError(
      'latent-channels',
      up,
      `wrong latent channels: unet/config.json says in_channels ${folder.unetInChannels}, the graph takes ${staticDim(sample, 1)}`,
    )
  }

  // Text encoder width (SDXL: both encoders' together) must equal the U-Net's cross-attention width.
  const hidden = sdxl
    ? sdxl.width1 !== undefined && sdxl.width2 !== undefined
      ? sdxl.width1 + sdxl.width2
      : undefined
    : (staticDim(hiddenState, 2) ?? folder.textHiddenSize)
  const cross = staticDim(ehs, 2) ?? folder.crossAttentionDim
  if (hidden !== undefined && cross !== undefined && hidden !== cross) {
    throw new ModelFolderError(
      'hidden-size-mismatch',
      tp,
      sdxl
        ? `text encoders ${tp} and ${folder.textEncoder2Path} produce ${sdxl.width1} + ${sdxl.width2} = ${hidden}-wide ` +
            `hidden states but the U-Net ${up} cross-attends over ${cross} (mismatched components)`
        : `text encoder ${tp} produces ${hidden}-wide hidden states but the U-Net ${up} cross-attends over ${cross} (mismatched components)`,
    )
  }

  const maxTokens = staticDim(inputIds, 1) ?? staticDim(ehs, 1) ?? 77
  return {
    inputIds,
    hiddenState,
    hiddenStateName,
    sample,
    timestep,
    encoderHiddenStates: ehs,
    outSampleName: outputName(unet, 'out_sample', up, 'unet-inputs'),
    latentSample,
    imageName: outputName(vae, 'sample', vp, 'vae-io'),
    unetBatchFixedAt1: staticDim(sample, 0) === 1,
    textBatchFixedAt1: staticDim(inputIds, 0) === 1,
    latentChannels: vaeC,
    hiddenSize: hidden ?? cross,
    maxTokens,
    ...(sdxl ? { sdxl } : {}),
  }
}
