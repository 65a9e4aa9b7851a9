/**
 * A loaded model: ONNX Runtime sessions for text encoder, U-Net and VAE decoder, the tokenizer,
 * and everything the pipeline reads from the graphs' input/output metadata. Validation of the
 * graphs happens here, before any generation runs.
 *
 * The U-Net can come from a buffer (e.g. a copy patched by the attention hook to expose extra
 * outputs). ORT then has no file path to resolve external data against, so we point it at the
 * U-Net's folder through the `session.model_external_initializers_file_folder_path` config key.
 */
import { dirname } from 'node:path'
import * as ort from 'onnxruntime-node'
import type { ExecutionProviderName } from '../../shared/generation'
import { mayHaveExternalData, prepareExternalData } from './external-data'
import { inspectModelFolder, MAX_ONNX_BYTES, ModelFolderError, readRegularBytes, type ModelFolder } from './modelFolder'
import { staticDim, tensorMeta, type TensorMeta } from './tensors'
import { ClipTokenizer } from './tokenizer'

export interface LoadOptions {
  /** Execution provider to try; CPU is the default and the fallback. */
  provider?: ExecutionProviderName
  /** A (possibly patched) U-Net model to use instead of unet/model.onnx; external data still comes from unet/. */
  unetModel?: Uint8Array
  /**
   * Called once the folder is validated, with the path of unet/model.onnx; returns the model bytes
   * to create the U-Net session from (e.g. the attention hook's patched copy). External data is
   * still resolved from unet/. Ignored when `unetModel` is given.
   */
  prepareUnet?: (unetPath: string) => Uint8Array | Promise<Uint8Array>
  /** Intra-op threads (default: ORT's choice, all cores). */
  threads?: number
  /**
   * Let ORT's worker threads spin while waiting for work (ORT's own default). Off by default here:
   * on a desktop sharing its cores (UI, other programs) spinning threads steal the CPU the
   * computation needs; measured on 2 busy cores, the bundled U-Net runs 2x faster without it.
   */
  spinning?: boolean
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
}

export interface ProviderChoice {
  requested: ExecutionProviderName
  used: ExecutionProviderName
  /** Why the requested provider was not used, when it was not. */
  fallbackReason?: string
}

const ORT_EP: Record<ExecutionProviderName, string> = { cpu: 'cpu', cuda: 'cuda', dml: 'dml', coreml: 'coreml' }

interface SessionTuning {
  threads?: number
  spinning?: boolean
}

function sessionOptions(
  provider: ExecutionProviderName,
  tuning: SessionTuning,
  externalDataDir?: string,
): ort.InferenceSession.SessionOptions {
  // Session config entries (onnxruntime_session_options_config_keys.h), flattened by the binding.
  const session: Record<string, unknown> = {}
  if (!tuning.spinning) session.intra_op = { allow_spinning: '0' }
  if (externalDataDir) session.model_external_initializers_file_folder_path = externalDataDir
  return {
    executionProviders: provider === 'cpu' ? ['cpu'] : [ORT_EP[provider], 'cpu'],
    graphOptimizationLevel: 'all',
    ...(tuning.threads ? { intraOpNumThreads: tuning.threads } : {}),
    extra: { session },
    logSeverityLevel: 3,
  }
}

async function createSession(
  source: string | Uint8Array,
  path: string,
  provider: ExecutionProviderName,
  tuning: SessionTuning,
): Promise<ort.InferenceSession> {
  try {
    // External weights: ORT never maps the user's files, only a private copy or bytes in memory (external-data.ts).
    const model =
      typeof source === 'string' && mayHaveExternalData(source) ? readRegularBytes(source, MAX_ONNX_BYTES) : source
    if (typeof model === 'string') return await ort.InferenceSession.create(model, sessionOptions(provider, tuning))
    const ext = prepareExternalData(model, dirname(path))
    try {
      // From a buffer ORT has no file path: point it at the folder holding the external data.
      const options = sessionOptions(provider, tuning, ext.folder)
      const { externalData } = ext
      return await ort.InferenceSession.create(model, externalData.length ? { ...options, externalData } : options)
    } finally {
      ext.done()
    }
  } catch (e) {
    const msg = (e as Error).message.split('\n')[0]
    throw new ModelFolderError(
      'onnx-unreadable',
      path,
      `cannot load ONNX model ${path} (corrupt, truncated or unsupported): ${msg}`,
    )
  }
}

/** Available ORT backends in this build (cuda/dml/coreml may be absent). */
function providerAvailable(p: ExecutionProviderName): boolean {
  if (p === 'cpu') return true
  try {
    return ort.listSupportedBackends().some((b) => b.name === ORT_EP[p])
  } catch {
    return false
  }
}

export class LoadedModel {
  private constructor(
    readonly folder: ModelFolder,
    readonly tokenizer: ClipTokenizer,
    readonly textEncoder: ort.InferenceSession,
    private unetSession: ort.InferenceSession,
    readonly vaeDecoder: ort.InferenceSession,
    private ioInfo: ModelIO,
    readonly provider: ProviderChoice,
    private readonly tuning: SessionTuning,
    readonly unetFromBuffer: boolean,
  ) {}

  get unet(): ort.InferenceSession {
    return this.unetSession
  }

  get io(): ModelIO {
    return this.ioInfo
  }

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
    const tuning: SessionTuning = { threads: opts.threads, spinning: opts.spinning }
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
      const unetSource =
        opts.unetModel ?? (opts.prepareUnet ? await opts.prepareUnet(folder.unetPath) : folder.unetPath)
      const unet = await make(unetSource, folder.unetPath)
      const vae = await make(folder.vaeDecoderPath, folder.vaeDecoderPath)
      const io = validateSessions(folder, textEncoder, unet, vae)
      tokenizer =
        io.maxTokens === tokenizer.special.maxLength ? tokenizer : new ClipTokenizer(folder.tokenizerDir, io.maxTokens)
      return new LoadedModel(
        folder,
        tokenizer,
        textEncoder,
        unet,
        vae,
        io,
        { requested, used, fallbackReason },
        tuning,
        typeof unetSource !== 'string',
      )
    } catch (e) {
      await Promise.all(sessions.map((s) => s.release().catch(() => undefined)))
      throw e
    }
  }

  /**
   * Swaps the U-Net for one built from `model` (a patched copy), or back to unet/model.onnx when
   * null. The new graph is validated like the original; on failure the old session stays.
   */
  async setUnet(model: Uint8Array | null): Promise<void> {
    const path = this.folder.unetPath
    const s = await createSession(model ?? path, path, this.provider.used, this.tuning)
    try {
      this.ioInfo = validateSessions(this.folder, this.textEncoder, s, this.vaeDecoder)
    } catch (e) {
      await s.release()
      throw e
    }
    const old = this.unetSession
    this.unetSession = s
    await old.release()
  }

  async release(): Promise<void> {
    await Promise.all([this.textEncoder.release(), this.unetSession.release(), this.vaeDecoder.release()])
  }
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
  const sample = tensorMeta(unet.inputMetadata, 'sample', up)
  const timestep = tensorMeta(unet.inputMetadata, 'timestep', up)
  const ehs = tensorMeta(unet.inputMetadata, 'encoder_hidden_states', up)
  const inputIds = tensorMeta(text.inputMetadata, 'input_ids', tp)
  const latentSample = tensorMeta(vae.inputMetadata, 'latent_sample', vp)
  const hiddenStateName = outputName(text, 'last_hidden_state', tp, 'text-encoder-io')
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

  // Text encoder width must equal the U-Net's cross-attention width.
  const hidden = staticDim(hiddenState, 2) ?? folder.textHiddenSize
  const cross = staticDim(ehs, 2) ?? folder.crossAttentionDim
  if (hidden !== undefined && cross !== undefined && hidden !== cross) {
    throw new ModelFolderError(
      'hidden-size-mismatch',
      tp,
      `text encoder ${tp} produces ${hidden}-wide hidden states but the U-Net ${up} cross-attends over ${cross} (mismatched components)`,
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
  }
}
