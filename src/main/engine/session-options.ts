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
  return {
    executionProviders: provider === 'cpu' ? ['cpu'] : [ORT_EP[provider], 'cpu'],
    graphOptimizationLevel: 'all',
    ...(settings.threads ? { intraOpNumThreads: settings.threads } : {}),
    extra: { session },
    logSeverityLevel: 3,
  }
}
