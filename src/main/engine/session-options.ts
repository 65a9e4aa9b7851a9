/**
 * The ONNX Runtime session options of every session this project creates: the engine's text
 * encoder, U-Net and VAE decoder (model.ts), and the sessions tests and benches build directly on
 * a graph (test/attention, bench/capture-overhead.ts). One function, so that a setting (threads,
 * spinning, logging, external data) never differs between what is measured or tested and what
 * the app runs.
 */
import type { InferenceSession } from 'onnxruntime-node'
import type { ExecutionProviderName } from '../../shared/generation'

export interface SessionSettings {
  /** Execution provider to try first; CPU is always the fallback in the list. Default 'cpu'. */
  provider?: ExecutionProviderName
  /** Intra-op threads (default: ORT's choice, all cores). */
  threads?: number
  /**
   * Let ORT's worker threads spin while waiting for work (ORT's own default). Off by default here:
   * on a desktop sharing its cores (UI, other programs) spinning threads steal the CPU the
   * computation needs; measured on 2 busy cores, the bundled U-Net runs 2x faster without it.
   */
  spinning?: boolean
  /**
   * Folder to resolve external data (`model.onnx_data`, `weights.pb`) against. Needed when the
   * model comes from a buffer (a U-Net patched by the attention hook): ORT then has no file path
   * to resolve against. onnxruntime-node 1.30 forwards `extra.session.*` entries to the session
   * config (`session.model_external_initializers_file_folder_path`; tested in
   * src/main/attention/patch-unet.test.ts).
   */
  externalDataDir?: string
  /**
   * Bytes of the whole model's weights on disk (all three components; modelWeightBytes in
   * memory-estimate.ts). Picks the memory settings: see memoryPolicy. Unknown: the small-model settings.
   */
  weightBytes?: number
}

/**
 * From this many bytes of weights a model is "large" (Stable Diffusion: 2 GB in fp16, 4 GB in fp32;
 * the bundled model: 13 MB) and its sessions run without ONNX Runtime's CPU arena, memory pattern and layout
 * transforms (memoryPolicy).
 */
export const LARGE_MODEL_BYTES = 1024 ** 3

export interface MemoryPolicy {
  /** ONNX Runtime's CPU memory arena (enableCpuMemArena). */
  arena: boolean
  /** Pre-planned activation buffers per input shape (enableMemPattern). */
  pattern: boolean
  /**
   * Graph optimisation level. 'all' adds the layout transforms (NCHWc convolutions), which copy
   * every convolution weight into a new layout at session creation: the copy is resident beside
   * the original weights of a graph that holds them inline, and it reads all of a memory-mapped
   * external-data file at once.
   */
  level: 'all' | 'extended'
}

/**
 * The memory settings for a model of `weightBytes`. ONNX Runtime's CPU arena keeps the largest
 * chunks a session ever asked for, rounded up, for the session's life, and the memory pattern
 * sizes one block for a whole run. On an SD-1.5-shape model at 512² (bench/sd15-scale.ts) the
 * U-Net's self-attention scores alone are 1 GB a copy: with both on, the U-Net's and the VAE's peaks
 * stay resident side by side after a generation, on top of the weights. Off, activations go back
 * to the allocator as soon as they die. Small models keep both: there the arena pays (fewer
 * allocations per call) and nothing large is held.
 */
export function memoryPolicy(weightBytes: number | undefined): MemoryPolicy {
  const large = weightBytes !== undefined && weightBytes >= LARGE_MODEL_BYTES
  return { arena: !large, pattern: !large, level: large ? 'extended' : 'all' }
}

const ORT_EP: Record<ExecutionProviderName, string> = { cpu: 'cpu', cuda: 'cuda', dml: 'dml', coreml: 'coreml' }

/** ORT's backend name of an execution provider. */
export function ortBackendName(provider: ExecutionProviderName): string {
  return ORT_EP[provider]
}

export function sessionOptions(settings: SessionSettings = {}): InferenceSession.SessionOptions {
  const provider = settings.provider ?? 'cpu'
  // Session config entries (onnxruntime_session_options_config_keys.h), flattened by the binding.
  const session: Record<string, unknown> = {}
  if (!settings.spinning) session.intra_op = { allow_spinning: '0' }
  if (settings.externalDataDir) session.model_external_initializers_file_folder_path = settings.externalDataDir
  const memory = memoryPolicy(settings.weightBytes)
  return {
    executionProviders: provider === 'cpu' ? ['cpu'] : [ORT_EP[provider], 'cpu'],
    graphOptimizationLevel: memory.level,
    enableCpuMemArena: memory.arena,
    enableMemPattern: memory.pattern,
    ...(settings.threads ? { intraOpNumThreads: settings.threads } : {}),
    extra: { session },
    logSeverityLevel: 3,
  }
}
