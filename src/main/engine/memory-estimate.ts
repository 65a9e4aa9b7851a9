/**
 * How much memory a generation needs, before it runs. 2048² used to be accepted for every model:
 * on the bundled model 768² peaks at 3.6 GB and 2048² asks ONNX Runtime for one 64 GiB buffer.
 *
 * The estimate comes from the graphs, not from a table per model:
 * - The largest intermediates of a U-Net call are the self-attention scores at the finest
 *   resolution that has attention: (h·w)² × heads × batch × element bytes for a latent of h×w
 *   tokens. ONNX Runtime holds three of them at once (Q·Kᵀ, the scaled scores, the softmax), so a
 *   call needs 3× the largest one; the sites (and their resolution level, from the export's
 *   down_blocks.i / mid_block / up_blocks.j names) are the graph's Softmax nodes.
 * - Convolution activations grow with the pixels: the VAE decoder's full-resolution blocks keep
 *   about three tensors of block_out_channels[0] channels alive; a VAE with a mid-block attention
 *   (a Softmax in its graph, as in SD's) adds 3 × (h·w)² at batch 1.
 * - The loaded weights and the runtime are already resident (they are in the process's RSS and
 *   out of the machine's free memory), so only the extra bytes are compared with free memory.
 * - Large models run without ONNX Runtime's CPU arena (memoryPolicy in session-options.ts): their
 *   U-Net and VAE peaks do not add up. SD-1.5 shape at 512², hooked (bench/sd15-scale.ts): measured
 *   3.04 GB over the loaded model, estimated 3.30 GB.
 * Calibrated with bench/memory-peaks.ts on the bundled model (peak RSS minus RSS after loading,
 * guidance on, batch 2): 128² 0.03 GB, 256² 0.11, 384² 0.33, 512² 1.01, 768² 3.43; the estimate
 * gives 0.01, 0.06, 0.28, 0.85, 4.17 (scores 3×, conv 3 tensors).
 *
 * Callers: ModelManager (the profile and the largest fitting size at load), checkRequest in
 * src/main/service/generator.ts (refuse or warn before a run), bench/memory-peaks.ts.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { freemem, totalmem } from 'node:os'
import { dirname, join } from 'node:path'
import { scanModel, type ScannedModel } from '../attention/onnx-scan'
import { findAttention, unetInputNames } from '../attention/find-attention'
import { modelGenerationDefaults } from '../../shared/generation'
import { AppError } from '../../shared/ipc/result'
import type { LoadedModel } from './model'
import { MAX_CONFIG_BYTES, readRegularFile, type ModelFolder } from './model-folder'
import { memoryPolicy } from './session-options'

/** One attention softmax of a graph: at which resolution level (0 = finest) and with how many heads. */
export interface AttentionSiteShape {
  level: number
  heads: number
  kind: 'self' | 'cross' | 'unknown'
}

/** What the estimate needs to know about a model, read once when it loads. */
export interface MemoryProfile {
  /** Pixels per latent cell (8 for SD). */
  vaeScale: number
  /** Bytes per element the U-Net computes in (4 for float32, 2 for float16). */
  elementBytes: number
  unetSites: AttentionSiteShape[]
  /** U-Net channels at the finest level (block_out_channels[0]). */
  unetChannels: number
  /** VAE decoder channels at full resolution (block_out_channels[0]). */
  vaeChannels: number
  /** Softmax nodes in the VAE decoder (SD's has one mid-block attention at latent resolution). */
  vaeAttentionSites: number
  /**
   * Whether the sessions keep ONNX Runtime's CPU arena (memoryPolicy in session-options.ts: small
   * models do, large ones do not). With it, the U-Net's and the VAE's peaks both stay resident and
   * add up; without it the VAE decodes after the U-Net's activations are freed, so the larger counts.
   */
  arena: boolean
}

export interface MemoryRequest {
  width: number
  height: number
  /** U-Net batch: 2 with classifier-free guidance in one call, else 1. */
  batch: number
}

export interface MemoryEstimate {
  /** Bytes a generation needs beyond what the loaded model already holds. */
  extraBytes: number
  /** The largest single buffer (what ONNX Runtime asks the allocator for in one piece). */
  largestBufferBytes: number
}

/** Live copies of the largest attention score tensor (Q·Kᵀ, scaled, softmax). */
const SCORE_COPIES = 3
/** Live full-resolution activation tensors in the VAE decoder's last block. */
const VAE_TENSORS = 3
/** Live finest-level activations in the U-Net (skip connections kept for the up path). */
const UNET_TENSORS = 8
/** Above this share of the free memory a run is allowed with a warning; above 1 it is refused. */
export const WARN_SHARE = 0.75

const GB = 1024 ** 3

/** Resolution level of an attention node from diffusers' module names; 0 (the finest, worst case) when unknown. */
export function siteLevel(nodeName: string, downBlocks: number): number {
  const down = /down_blocks[._](\d+)/.exec(nodeName)
  if (down) return Number(down[1])
  if (/mid_block/.test(nodeName)) return Math.max(0, downBlocks - 1)
  const up = /up_blocks[._](\d+)/.exec(nodeName)
  if (up) return Math.max(0, downBlocks - 1 - Number(up[1]))
  return 0
}

function firstNumber(v: unknown, fallback: number): number {
  const x = Array.isArray(v) ? v[0] : v
  return typeof x === 'number' && Number.isFinite(x) && x > 0 ? x : fallback
}

/** Heads per level: diffusers' num_attention_heads, else (legacy naming) attention_head_dim; 8 as for SD 1.x. */
function headsAt(unetConfig: Record<string, unknown>, level: number): number {
  const v = unetConfig.num_attention_heads ?? unetConfig.attention_head_dim
  if (Array.isArray(v)) return firstNumber(v[Math.min(level, v.length - 1)], 8)
  return firstNumber(v, 8)
}

/** Builds a profile from the scanned graphs and the configs (pure: tests feed it any graph). */
export function memoryProfileFromGraphs(args: {
  unet: ScannedModel
  vaeDecoder: ScannedModel
  unetConfig: Record<string, unknown>
  vaeConfig: Record<string, unknown>
  vaeScale: number
  /** The model's weights on disk (modelWeightBytes); unknown: the small-model settings. */
  weightBytes?: number
}): MemoryProfile {
  const { unet, vaeDecoder, unetConfig, vaeConfig } = args
  const blocks = Array.isArray(unetConfig.block_out_channels) ? unetConfig.block_out_channels.length : 4
  let sites: AttentionSiteShape[]
  try {
    const scan = findAttention(unet, unetInputNames(unet))
    sites = scan.sites.map((s) => {
      const level = siteLevel(s.name, blocks)
      return { level, heads: headsAt(unetConfig, level), kind: s.kind }
    })
    // Fused attention hides its softmax; its kernel still materialises the scores on CPU.
    for (const _ of scan.fused) sites.push({ level: 0, heads: headsAt(unetConfig, 0), kind: 'unknown' })
  } catch {
    sites = unet.nodes
      .filter((n) => n.opType === 'Softmax')
      .map((n) => {
        const level = siteLevel(n.name ?? '', blocks)
        return { level, heads: headsAt(unetConfig, level), kind: 'unknown' as const }
      })
  }
  const sample = unet.inputs.find((i) => i.name === 'sample')
  const elemType = sample?.type?.tensorType?.elemType
  return {
    vaeScale: args.vaeScale,
    elementBytes: elemType === 10 ? 2 : 4, // 10 = TensorProto.FLOAT16
    unetSites: sites,
    unetChannels: firstNumber(unetConfig.block_out_channels, 320),
    vaeChannels: firstNumber(vaeConfig.block_out_channels, 128),
    vaeAttentionSites: vaeDecoder.nodes.filter((n) => n.opType === 'Softmax').length,
    arena: memoryPolicy(args.weightBytes).arena,
  }
}

/** Memory one generation of `req` needs beyond the loaded model. */
export function estimateGenerationMemory(p: MemoryProfile, req: MemoryRequest): MemoryEstimate {
  const h = req.height / p.vaeScale
  const w = req.width / p.vaeScale
  let largestScores = 0
  for (const s of p.unetSites) {
    if (s.kind === 'cross') continue // [tokens, 77]: small next to self-attention's [tokens, tokens]
    const tokens = (h / 2 ** s.level) * (w / 2 ** s.level)
    largestScores = Math.max(largestScores, tokens * tokens * s.heads * req.batch * p.elementBytes)
  }
  const unetConv = UNET_TENSORS * p.unetChannels * h * w * req.batch * p.elementBytes
  const vaeConv = VAE_TENSORS * p.vaeChannels * req.width * req.height * 4
  const vaeScores = p.vaeAttentionSites > 0 ? h * w * h * w * 4 : 0
  const unet = SCORE_COPIES * largestScores + unetConv
  const vae = vaeConv + SCORE_COPIES * vaeScores
  // ONNX Runtime's CPU arena keeps each session's peak after a run: the U-Net's and the VAE's add up.
  // Without it (large models) the U-Net's activations are freed before the VAE decodes.
  const extraBytes = p.arena ? unet + vae : Math.max(unet, vae)
  return { extraBytes, largestBufferBytes: Math.max(largestScores, vaeScores, vaeConv / VAE_TENSORS) }
}

/**
 * Memory this process can still use, in bytes: Linux's MemAvailable (free plus reclaimable
 * caches; os.freemem() is the fallback elsewhere), capped by a cgroup limit when one is set.
 */
export function availableMemory(): number {
  let available = freemem()
  try {
    const m = /^MemAvailable:\s+(\d+)\s*kB/m.exec(readFileSync('/proc/meminfo', 'utf8'))
    if (m) available = Number(m[1]) * 1024
  } catch {
    // not Linux: freemem() it is
  }
  const limit = typeof process.constrainedMemory === 'function' ? process.constrainedMemory() : 0
  if (limit > 0 && limit < totalmem()) available = Math.min(available, Math.max(0, limit - process.memoryUsage().rss))
  return available
}

/**
 * The largest size of the request's aspect ratio (multiples of `multiple`, sides at most
 * `maxSide`) whose estimate fits in `availableBytes`; null when not even the smallest fits.
 */
export function largestFittingSize(
  p: MemoryProfile,
  req: MemoryRequest,
  availableBytes: number,
  multiple: number,
  maxSide: number,
): { width: number; height: number } | null {
  const long = Math.max(req.width, req.height)
  for (let side = Math.floor(maxSide / multiple) * multiple; side >= multiple; side -= multiple) {
    const snap = (v: number): number => Math.max(multiple, Math.floor((v * side) / long / multiple) * multiple)
    const size = { width: snap(req.width), height: snap(req.height) }
    if (estimateGenerationMemory(p, { ...size, batch: req.batch }).extraBytes <= availableBytes) return size
  }
  return null
}

export function formatGB(bytes: number): string {
  return bytes >= 10 * GB ? `${Math.round(bytes / GB)} GB` : `${(bytes / GB).toFixed(1)} GB`
}

export interface MemoryVerdict {
  /** 'refuse': does not fit; 'warn': fits but close to the limit; 'ok'. */
  level: 'ok' | 'warn' | 'refuse'
  message?: string
  estimate: MemoryEstimate
  largestFitting: { width: number; height: number } | null
}

/** Compares a request's estimate with the free memory and says what to do, in words for people. */
export function judgeMemory(
  p: MemoryProfile,
  req: MemoryRequest,
  availableBytes: number,
  multiple: number,
  maxSide: number,
): MemoryVerdict {
  const estimate = estimateGenerationMemory(p, req)
  const size = `${req.width}×${req.height}`
  if (estimate.extraBytes <= availableBytes * WARN_SHARE) return { level: 'ok', estimate, largestFitting: null }
  const largestFitting = largestFittingSize(p, req, availableBytes * WARN_SHARE, multiple, maxSide)
  const fits = largestFitting
    ? `the largest size that fits is ${largestFitting.width}×${largestFitting.height}`
    : 'no image size of this model fits; close other programs and try again'
  const needs = `${size} needs about ${formatGB(estimate.extraBytes)}; this machine has ${formatGB(availableBytes)} free`
  if (estimate.extraBytes > availableBytes)
    return { level: 'refuse', message: `Not enough memory: ${needs}; ${fits}.`, estimate, largestFitting }
  return {
    level: 'warn',
    message: `${needs}, so the run may be slow or fail; ${fits} comfortably.`,
    estimate,
    largestFitting,
  }
}

const profiles = new WeakMap<ModelFolder, MemoryProfile>()

/**
 * Bytes of a model's weights on disk: every file but JSON configs in the folders of its text
 * encoder(s: SDXL's text_encoder_2 too), U-Net and VAE decoder (model.onnx and its external data, whatever their names). The
 * yardstick of the memory goal (peak ≤ 2× the weights, bench/sd15-scale.ts) and what picks the
 * session memory settings (memoryPolicy in session-options.ts; caller: LoadedModel.load).
 */
export function modelWeightBytes(
  folder: Pick<ModelFolder, 'textEncoderPath' | 'textEncoder2Path' | 'unetPath' | 'vaeDecoderPath'>,
): number {
  let total = 0
  const graphs = [folder.textEncoderPath, folder.textEncoder2Path, folder.unetPath, folder.vaeDecoderPath]
  for (const dir of new Set(graphs.filter((p): p is string => !!p).map((p) => dirname(p)))) {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.isFile() && !e.name.endsWith('.json')) total += statSync(join(dir, e.name)).size
    }
  }
  return total
}

function readConfig(path: string): Record<string, unknown> {
  try {
    const v = JSON.parse(readRegularFile(path, MAX_CONFIG_BYTES)) as unknown
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {}
  } catch {
    return {} // inspectModelFolder has already reported unreadable configs
  }
}

/**
 * The profile of a validated model folder (reads the graphs' structure once, cached per folder).
 * `unetBytes`: the U-Net model already in memory (the attention hook's copy), to avoid reading it again.
 */
export function readMemoryProfile(folder: ModelFolder, unetBytes?: Uint8Array): MemoryProfile {
  const hit = profiles.get(folder)
  if (hit) return hit
  const profile = memoryProfileFromGraphs({
    unet: scanModel(unetBytes ?? readFileSync(folder.unetPath)),
    vaeDecoder: scanModel(readFileSync(folder.vaeDecoderPath)),
    unetConfig: readConfig(join(folder.dir, 'unet', 'config.json')),
    vaeConfig: readConfig(join(folder.dir, 'vae_decoder', 'config.json')),
    vaeScale: folder.vaeScaleFactor,
    weightBytes: modelWeightBytes(folder),
  })
  profiles.set(folder, profile)
  return profile
}

/** The U-Net batch of a run: guidance puts both halves in one call unless the graph fixes batch 1. */
function batchOf(model: LoadedModel, guidance: number | undefined): number {
  return (guidance ?? modelGenerationDefaults(model.folder.scheduler).guidance) > 1 && !model.io.unetBatchFixedAt1
    ? 2
    : 1
}

/** The largest square size that fits this machine now (with guidance), for the model summary. */
export function largestSquareFor(model: LoadedModel, maxSide: number): { width: number; height: number } | null {
  const f = model.folder
  return largestFittingSize(
    readMemoryProfile(f),
    { width: maxSide, height: maxSide, batch: batchOf(model, undefined) },
    availableMemory() * WARN_SHARE,
    f.spatialMultiple,
    maxSide,
  )
}

/**
 * Refuses a run that cannot fit in free memory (AppError 'not-enough-memory', naming the largest
 * size that fits); returns a warning sentence when it fits but only just, else undefined.
 */
export function assertMemoryFits(
  model: LoadedModel,
  req: { width: number; height: number; guidance?: number },
  maxSide: number,
): string | undefined {
  const verdict = judgeMemory(
    readMemoryProfile(model.folder),
    { width: req.width, height: req.height, batch: batchOf(model, req.guidance) },
    availableMemory(),
    model.folder.spatialMultiple,
    maxSide,
  )
  if (verdict.level === 'refuse') throw new AppError('not-enough-memory', verdict.message!)
  return verdict.message
}
