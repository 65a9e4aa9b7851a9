/**
 * Static inspection of a diffusers/Optimum ONNX model folder: which files exist, what the JSON
 * configs say. No ONNX Runtime here; checks that need the graphs (input names, channels, hidden
 * size) live in validateSessions (model.ts). Every failure is a ModelFolderError with a code and
 * the path concerned, so the UI can show it and tests can tell the cases apart.
 *
 * Only regular files are read (symlinks are followed only to regular files), each with a size
 * limit: a FIFO or a link to /dev/zero in a model folder used to block loading forever, since a
 * synchronous read of either never ends. readRegularFile is the one reader for this folder's
 * small files (configs here, the tokenizer's files in tokenizer.ts); the ONNX files are checked
 * with checkRegularFile before ONNX Runtime opens them.
 */
import { closeSync, constants, existsSync, fstatSync, openSync, readSync, statSync, type Stats } from 'node:fs'
import { join, resolve } from 'node:path'
import { parseSchedulerConfig, type SchedulerConfig } from '../../shared/schedulers'

export type ModelFolderErrorCode =
  | 'folder-missing'
  | 'not-a-folder'
  | 'model-index-missing'
  | 'model-index-invalid'
  | 'component-missing'
  | 'config-invalid'
  | 'tokenizer-missing'
  | 'scheduler-config'
  | 'onnx-unreadable'
  | 'unet-inputs'
  | 'text-encoder-io'
  | 'vae-io'
  | 'latent-channels'
  | 'hidden-size-mismatch'
  | 'size-invalid'

export class ModelFolderError extends Error {
  constructor(
    readonly code: ModelFolderErrorCode,
    readonly path: string,
    message: string,
  ) {
    super(message)
    this.name = 'ModelFolderError'
  }
}

export interface ModelFolder {
  dir: string
  modelIndex: Record<string, unknown>
  textEncoderPath: string
  unetPath: string
  vaeDecoderPath: string
  tokenizerDir: string
  schedulerConfigPath: string
  scheduler: SchedulerConfig
  /** Multiply latents by 1/scalingFactor before decoding. */
  scalingFactor: number
  /** Pixels per latent cell (8 for SD). */
  vaeScaleFactor: number
  /**
   * False when no vae_decoder/config.json states block_out_channels (diffusers' own conversion
   * script writes none): vaeScaleFactor is then SD's 8 until LoadedModel.load measures it on the
   * graph (withVaeScaleFactor).
   */
  vaeScaleFactorKnown: boolean
  /** Width/height must be multiples of this (VAE factor x U-Net down-sampling: 64 for SD). */
  spatialMultiple: number
  /** Default image size in pixels, from the U-Net's sample_size. */
  defaultWidth: number
  defaultHeight: number
  /**
   * SDXL (Optimum's layout): the second text encoder and its tokenizer, present together when the
   * folder has text_encoder_2/. Whether the U-Net needs them is decided on the graph (model.ts).
   */
  textEncoder2Path?: string
  tokenizer2Dir?: string
  /**
   * model_index.json's force_zeros_for_empty_prompt (SDXL: an empty negative prompt is encoded as
   * zeros, hidden states and pooled embedding alike). diffusers' SDXL pipelines default it to true.
   */
  forceZerosForEmptyPrompt: boolean
  /** From configs when present (the graphs are checked too). */
  unetInChannels?: number
  crossAttentionDim?: number
  textHiddenSize?: number
  /** text_encoder_2/config.json's hidden_size (SDXL). */
  text2HiddenSize?: number
  latentChannels?: number
}

/** Largest JSON config we read (real ones are a few KB). */
export const MAX_CONFIG_BYTES = 1024 * 1024
/** Largest tokenizer file (CLIP's tokenizer.json is about 2 MB, vocab.json 1 MB). */
export const MAX_TOKENIZER_BYTES = 64 * 1024 * 1024
/** Protobuf's own limit: an ONNX model file above it must keep its weights as external data. */
export const MAX_ONNX_BYTES = 2 ** 31 - 1
/** The smallest valid ModelProto with a graph is larger than this. */
const MIN_ONNX_BYTES = 16

/** A sentence for a file that is not a regular one. */
function kindOf(st: Stats): string {
  if (st.isFIFO()) return 'a FIFO (named pipe)'
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device'
  if (st.isSocket()) return 'a socket'
  if (st.isDirectory()) return 'a folder'
  return 'not a file'
}

function formatBytes(n: number): string {
  return n >= 1024 * 1024 ? `${Math.round(n / (1024 * 1024))} MB` : `${Math.round(n / 1024)} KB`
}

/** Throws unless `path` is (or links to) a regular file no larger than `maxBytes`; returns its size. */
export function checkRegularFile(path: string, maxBytes: number, minBytes = 0): number {
  const st = statSync(path)
  if (!st.isFile()) throw new Error(`${path} is not a regular file (it is ${kindOf(st)})`)
  if (st.size > maxBytes)
    throw new Error(`${path} is too large (${formatBytes(st.size)}; at most ${formatBytes(maxBytes)})`)
  if (st.size < minBytes) throw new Error(`${path} is too small to be valid (${st.size} bytes)`)
  return st.size
}

/**
 * Reads a regular file of at most `maxBytes`. The file is opened non-blocking and checked on the
 * open descriptor (fstat), so a FIFO never blocks the open and a file swapped for something else
 * between a check and the read is still caught.
 */
export function readRegularBytes(path: string, maxBytes: number): Buffer {
  const fd = openSync(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0))
  try {
    const st = fstatSync(fd)
    if (!st.isFile()) throw new Error(`${path} is not a regular file (it is ${kindOf(st)})`)
    if (st.size > maxBytes)
      throw new Error(`${path} is too large (${formatBytes(st.size)}; at most ${formatBytes(maxBytes)})`)
    const buf = Buffer.allocUnsafe(st.size)
    let off = 0
    while (off < buf.length) {
      // readSync reads at most 2 GB per call: loop
      const n = readSync(fd, buf, off, Math.min(buf.length - off, 1 << 30), off)
      if (n === 0) break // truncated while reading: the caller's parser says what is wrong
      off += n
    }
    return off === buf.length ? buf : buf.subarray(0, off)
  } finally {
    closeSync(fd)
  }
}

/** readRegularBytes as UTF-8 text. */
export function readRegularFile(path: string, maxBytes: number): string {
  return readRegularBytes(path, maxBytes).toString('utf8')
}

function readJsonFile(path: string, code: ModelFolderErrorCode, what: string): Record<string, unknown> {
  let text: string
  try {
    text = readRegularFile(path, MAX_CONFIG_BYTES)
  } catch (e) {
    throw new ModelFolderError(code, path, `cannot read ${what} ${path}: ${(e as Error).message}`)
  }
  let v: unknown
  try {
    v = JSON.parse(text)
  } catch (e) {
    throw new ModelFolderError(code, path, `${what} ${path} is not valid JSON: ${(e as Error).message}`)
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) {
    throw new ModelFolderError(code, path, `${what} ${path} must hold a JSON object`)
  }
  return v as Record<string, unknown>
}

function optionalConfig(path: string): Record<string, unknown> {
  return existsSync(path) ? readJsonFile(path, 'config-invalid', 'config') : {}
}

function num(cfg: Record<string, unknown>, key: string, path: string): number | undefined {
  const v = cfg[key]
  if (v === undefined || v === null) return undefined
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
    throw new ModelFolderError(
      'config-invalid',
      path,
      `${path}: '${key}' must be a positive number, got ${JSON.stringify(v)}`,
    )
  }
  return v
}

function listLength(cfg: Record<string, unknown>, key: string): number | undefined {
  const v = cfg[key]
  return Array.isArray(v) && v.length > 0 ? v.length : undefined
}

function requireFile(path: string, what: string): string {
  if (!existsSync(path)) {
    throw new ModelFolderError('component-missing', path, `model folder is missing the ${what}: ${path} does not exist`)
  }
  try {
    checkRegularFile(path, MAX_ONNX_BYTES, MIN_ONNX_BYTES)
  } catch (e) {
    throw new ModelFolderError('component-missing', path, `cannot use the ${what}: ${(e as Error).message}`)
  }
  return path
}

/** A tokenizer folder: vocab.json + merges.txt, or tokenizer.json. Returns the folder. */
function requireTokenizer(tokenizerDir: string): string {
  const hasBpe = existsSync(join(tokenizerDir, 'vocab.json')) && existsSync(join(tokenizerDir, 'merges.txt'))
  if (!hasBpe && !existsSync(join(tokenizerDir, 'tokenizer.json'))) {
    throw new ModelFolderError(
      'tokenizer-missing',
      tokenizerDir,
      `tokenizer missing: ${tokenizerDir} needs vocab.json + merges.txt or tokenizer.json`,
    )
  }
  return tokenizerDir
}

/** The folder with a measured VAE scale factor: sizes and the size multiple follow it. */
export function withVaeScaleFactor(folder: ModelFolder, factor: number): ModelFolder {
  const ratio = factor / folder.vaeScaleFactor
  return {
    ...folder,
    vaeScaleFactor: factor,
    vaeScaleFactorKnown: true,
    spatialMultiple: folder.spatialMultiple * ratio,
    defaultWidth: folder.defaultWidth * ratio,
    defaultHeight: folder.defaultHeight * ratio,
  }
}

/** Reads and checks everything about a folder that does not need ONNX Runtime. */
export function inspectModelFolder(folder: string): ModelFolder {
  const dir = resolve(folder)
  if (!existsSync(dir)) throw new ModelFolderError('folder-missing', dir, `model folder not found: ${dir}`)
  if (!statSync(dir).isDirectory())
    throw new ModelFolderError('not-a-folder', dir, `model path is not a folder: ${dir}`)

  const indexPath = join(dir, 'model_index.json')
  if (!existsSync(indexPath)) {
    throw new ModelFolderError(
      'model-index-missing',
      indexPath,
      `not a diffusers model folder: ${indexPath} is missing`,
    )
  }
  const modelIndex = readJsonFile(indexPath, 'model-index-invalid', 'model index')

  const textEncoderPath = requireFile(join(dir, 'text_encoder', 'model.onnx'), 'text encoder')
  const unetPath = requireFile(join(dir, 'unet', 'model.onnx'), 'U-Net')
  const vaeDecoderPath = requireFile(join(dir, 'vae_decoder', 'model.onnx'), 'VAE decoder')

  const tokenizerDir = requireTokenizer(join(dir, 'tokenizer'))
  // SDXL: a second text encoder comes with its own tokenizer (same vocabulary, its own pad token).
  const hasText2 = existsSync(join(dir, 'text_encoder_2'))
  const textEncoder2Path = hasText2
    ? requireFile(join(dir, 'text_encoder_2', 'model.onnx'), 'second text encoder (SDXL)')
    : undefined
  const tokenizer2Dir = hasText2 ? requireTokenizer(join(dir, 'tokenizer_2')) : undefined

  const schedulerConfigPath = join(dir, 'scheduler', 'scheduler_config.json')
  if (!existsSync(schedulerConfigPath)) {
    throw new ModelFolderError(
      'scheduler-config',
      schedulerConfigPath,
      `scheduler config missing: ${schedulerConfigPath}`,
    )
  }
  let scheduler: SchedulerConfig
  try {
    scheduler = parseSchedulerConfig(
      readJsonFile(schedulerConfigPath, 'scheduler-config', 'scheduler config'),
      schedulerConfigPath,
    )
  } catch (e) {
    if (e instanceof ModelFolderError) throw e
    throw new ModelFolderError('scheduler-config', schedulerConfigPath, `bad scheduler config: ${(e as Error).message}`)
  }

  const unetCfgPath = join(dir, 'unet', 'config.json')
  const vaeCfgPath = join(dir, 'vae_decoder', 'config.json')
  const textCfgPath = join(dir, 'text_encoder', 'config.json')
  const unetCfg = optionalConfig(unetCfgPath)
  const vaeCfg = optionalConfig(vaeCfgPath)
  const textCfg = optionalConfig(textCfgPath)
  const text2CfgPath = join(dir, 'text_encoder_2', 'config.json')
  const text2Cfg = hasText2 ? optionalConfig(text2CfgPath) : {}
  const forceZeros = modelIndex.force_zeros_for_empty_prompt
  if (forceZeros !== undefined && typeof forceZeros !== 'boolean') {
    throw new ModelFolderError(
      'model-index-invalid',
      indexPath,
      `${indexPath}: 'force_zeros_for_empty_prompt' must be true or false, got ${JSON.stringify(forceZeros)}`,
    )
  }

  const scalingFactor = num(vaeCfg, 'scaling_factor', vaeCfgPath) ?? 0.18215
  const vaeBlocks = listLength(vaeCfg, 'block_out_channels')
  const vaeScaleFactor = vaeBlocks ? 2 ** (vaeBlocks - 1) : 8
  const unetBlocks = listLength(unetCfg, 'block_out_channels')
  // Each U-Net down block but the last halves the latent, so latents must divide by 2^(blocks-1).
  const spatialMultiple = vaeScaleFactor * (unetBlocks ? 2 ** (unetBlocks - 1) : 8)

  const ss = unetCfg.sample_size
  let sampleH = 64
  let sampleW = 64
  if (typeof ss === 'number' && ss > 0) sampleH = sampleW = ss
  else if (Array.isArray(ss) && ss.length === 2 && ss.every((v) => typeof v === 'number' && v > 0)) {
    ;[sampleH, sampleW] = ss as number[]
  } else if (ss !== undefined) {
    throw new ModelFolderError(
      'config-invalid',
      unetCfgPath,
      `${unetCfgPath}: 'sample_size' must be a number or [h, w]`,
    )
  }

  return {
    dir,
    modelIndex,
    textEncoderPath,
    unetPath,
    vaeDecoderPath,
    tokenizerDir,
    textEncoder2Path,
    tokenizer2Dir,
    forceZerosForEmptyPrompt: forceZeros ?? true,
    schedulerConfigPath,
    scheduler,
    scalingFactor,
    vaeScaleFactor,
    vaeScaleFactorKnown: vaeBlocks !== undefined,
    spatialMultiple,
    defaultWidth: sampleW * vaeScaleFactor,
    defaultHeight: sampleH * vaeScaleFactor,
    unetInChannels: num(unetCfg, 'in_channels', unetCfgPath),
    // Some configs list one cross-attention dim per block; they are equal for SD.
    crossAttentionDim: Array.isArray(unetCfg.cross_attention_dim)
      ? num({ d: unetCfg.cross_attention_dim[0] }, 'd', unetCfgPath)
      : num(unetCfg, 'cross_attention_dim', unetCfgPath),
    textHiddenSize: num(textCfg, 'hidden_size', textCfgPath),
    text2HiddenSize: num(text2Cfg, 'hidden_size', text2CfgPath),
    latentChannels: num(vaeCfg, 'latent_channels', vaeCfgPath),
  }
}
