import path from 'node:path'
import type { DialogAdapter, DialogAnswers } from './dialogs'
import type { SecretStore } from '../library/library-service'

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
  /**
   * Also record the self-attention-refined maps (the overlay's "Refined" method, issue 16). Off by
   * default: the extra in-graph products cost 14 % per U-Net call on the bundled model
   * (`npm run bench:capture -- --refine`: hooked/plain 1.14 against 1.02), and on this model the
   * method does not beat DAAM (README).
   */
  refinedMaps?: boolean
  /** Models installed from the Hub (default `<userData>/models`; the library's setting overrides it). */
  libraryDir?: string
  /** Fixed Hub endpoint (HF_ENDPOINT, or a test's loopback Hub); default https://huggingface.co. */
  hubEndpoint?: string
  /** Encrypted token store (Electron's safeStorage); without it a token lasts one session. */
  secrets?: SecretStore
  /** Shows a folder in the OS file manager (Electron's shell). */
  revealFolder?: (dir: string) => void
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

/**
 * Reads `DAAM_SERVICE_OPTIONS` (JSON); throws on a malformed value. Unknown keys are kept so
 * later options need no plumbing. The app goes through `testOverridesFromEnv`, which never throws.
 */
export function serviceOptionsFromEnv(env: NodeJS.ProcessEnv): Partial<ServiceOptions> {
  const raw = env[SERVICE_OPTIONS_ENV]
  if (!raw) return {}
  const parsed: unknown = JSON.parse(raw)
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new Error(`${SERVICE_OPTIONS_ENV} must be a JSON object`)
  }
  return parsed as Partial<ServiceOptions>
}

/** What the test-only environment variables ask for, after `testOverridesFromEnv` vetted it. */
export interface TestOverrides {
  service: Partial<ServiceOptions>
  /** Absolute path to use as Electron's userData folder. */
  userDataDir?: string
  /** Why a variable (or a key of it) was ignored; the caller logs these. */
  warnings: string[]
}

type KeyCheck = (v: unknown) => boolean
const isString: KeyCheck = (v) => typeof v === 'string' && v.length > 0
const isObject: KeyCheck = (v) => typeof v === 'object' && v !== null && !Array.isArray(v)
/** Types of the keys the service reads; a wrong-typed one is dropped instead of failing later. */
const KEY_CHECKS: Partial<Record<keyof ServiceOptions, KeyCheck>> = {
  appName: isString,
  appVersion: isString,
  modelsDir: isString,
  userDataDir: (v) => v === null || isString(v),
  dialogAnswers: isObject,
  threads: (v) => Number.isInteger(v) && (v as number) > 0,
  refinedMaps: (v) => typeof v === 'boolean',
  libraryDir: isString,
  hubEndpoint: (v) => isString(v) && URL.canParse(v as string),
  secrets: () => false, // injected by Electron only
  revealFolder: () => false,
  dialogs: () => false, // not JSON-able: only Electron injects it
}

/**
 * The e2e tests' overrides (`DAAM_SERVICE_OPTIONS`, `DAAM_USER_DATA_DIR`) for the Electron main
 * process (src/main/index.ts). Never throws, so a bad value can never keep the window from
 * opening: a malformed value or key is dropped with a warning. In a packaged build (`packaged`,
 * Electron's app.isPackaged) both are ignored: an installed app takes no test switches from
 * whoever controls its environment.
 */
export function testOverridesFromEnv(env: NodeJS.ProcessEnv, packaged: boolean): TestOverrides {
  const warnings: string[] = []
  const rawOptions = env[SERVICE_OPTIONS_ENV]
  const rawUserData = env[USER_DATA_DIR_ENV]
  if (packaged) {
    for (const [name, raw] of [
      [SERVICE_OPTIONS_ENV, rawOptions],
      [USER_DATA_DIR_ENV, rawUserData],
    ] as const) {
      if (raw !== undefined) warnings.push(`${name} is a test-only setting and is ignored in a packaged build`)
    }
    return { service: {}, warnings }
  }
  let service: Partial<ServiceOptions> = {}
  if (rawOptions) {
    try {
      service = serviceOptionsFromEnv(env)
    } catch (e) {
      warnings.push(`${SERVICE_OPTIONS_ENV} ignored: ${e instanceof Error ? e.message : String(e)}`)
    }
  }
  for (const [key, value] of Object.entries(service)) {
    // JSON.parse makes "__proto__" an own key: never let it (or its kin) reach an object spread
    if (key === '__proto__' || key === 'constructor' || key === 'prototype') {
      warnings.push(`${SERVICE_OPTIONS_ENV}.${key} ignored: not an option`)
      delete (service as Record<string, unknown>)[key]
      continue
    }
    const check = Object.hasOwn(KEY_CHECKS, key) ? KEY_CHECKS[key as keyof ServiceOptions] : undefined
    if (check && !check(value)) {
      warnings.push(`${SERVICE_OPTIONS_ENV}.${key} ignored: ${JSON.stringify(value) ?? typeof value} is not valid`)
      delete (service as Record<string, unknown>)[key]
    }
  }
  let userDataDir: string | undefined
  if (rawUserData !== undefined) {
    if (rawUserData.trim() === '' || rawUserData.includes('\0')) {
      warnings.push(`${USER_DATA_DIR_ENV} ignored: ${JSON.stringify(rawUserData)} is not a folder path`)
    } else userDataDir = path.resolve(rawUserData)
  }
  return { service, userDataDir, warnings }
}
