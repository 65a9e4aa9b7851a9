import path from 'node:path'
import type { DialogAdapter, DialogAnswers } from './dialogs'

/** Everything the service needs to know about its environment. No Electron types. */
export interface ServiceOptions {
  appName: string
  appVersion: string
  /** Folder holding the models; the bundled one is `<modelsDir>/daam-shapes`. */
  modelsDir: string
  /** Per-user writable folder (settings, caches); null when none is wanted (unit tests). */
  userDataDir: string | null
  /** Native dialogs (Electron injects one); without it `dialogAnswers` are used, else saves fail clearly. */
  dialogs?: DialogAdapter
  /** JSON-able scripted dialog answers (e2e tests, where options travel as JSON). */
  dialogAnswers?: DialogAnswers
  /** ONNX Runtime intra-op threads (default: ORT's choice). */
  threads?: number
}

export const BUNDLED_MODEL_ID = 'daam-shapes'

/** Environment variable holding a JSON object of `ServiceOptions` overrides (used by e2e). */
export const SERVICE_OPTIONS_ENV = 'DAAM_SERVICE_OPTIONS'
/** Environment variable that moves Electron's userData folder (used by e2e). */
export const USER_DATA_DIR_ENV = 'DAAM_USER_DATA_DIR'

/** Repository root when running from source or from `out/` (dev, preview, tests). */
export function defaultAppRoot(): string {
  return process.cwd()
}

export function defaultServiceOptions(overrides: Partial<ServiceOptions> = {}): ServiceOptions {
  return {
    appName: 'DAAM Studio',
    appVersion: '0.0.0',
    modelsDir: path.join(defaultAppRoot(), 'models'),
    userDataDir: null,
    ...overrides,
  }
}

/** Reads `DAAM_SERVICE_OPTIONS` (JSON). Unknown keys are kept so later options need no plumbing. */
export function serviceOptionsFromEnv(env: NodeJS.ProcessEnv): Partial<ServiceOptions> {
  const raw = env[SERVICE_OPTIONS_ENV]
  if (!raw) return {}
  const parsed: unknown = JSON.parse(raw)
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new Error(`${SERVICE_OPTIONS_ENV} must be a JSON object`)
  }
  return parsed as Partial<ServiceOptions>
}
