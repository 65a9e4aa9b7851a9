/**
 * Payloads of the model library (issue 15): what the Models panel shows and the `library:*`
 * channels carry. Pure types plus the repo-spec parser and the curated list, shared by the main
 * process (src/main/library), the renderer's Models panel and the models CLI (scripts/models.ts).
 */

/** `owner/name[@revision][:subfolder]` as typed by the user, parsed. */
export interface RepoSpec {
  repo: string
  /** Branch, tag or commit; `main` when not given. */
  revision: string
  /** Folder inside the repository holding the diffusers layout ('' = the root). */
  subfolder: string
}

const OWNER_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,95}\/[A-Za-z0-9][A-Za-z0-9._-]{0,95}$/
const REVISION = /^[A-Za-z0-9][A-Za-z0-9._/-]{0,127}$/
const SUBFOLDER = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,63}(\/[A-Za-z0-9_][A-Za-z0-9._-]{0,63}){0,3}$/

/** Parses a repo spec; throws an Error whose message says what is wrong. */
export function parseRepoSpec(text: string): RepoSpec {
  const raw = text.trim()
  let rest = raw
  let subfolder = ''
  const colon = rest.indexOf(':')
  if (colon >= 0) {
    subfolder = rest.slice(colon + 1).replace(/^\/+|\/+$/g, '')
    rest = rest.slice(0, colon)
  }
  let revision = 'main'
  const at = rest.indexOf('@')
  if (at >= 0) {
    revision = rest.slice(at + 1)
    rest = rest.slice(0, at)
  }
  if (!OWNER_NAME.test(rest)) {
    throw new Error(`"${raw}" is not a Hub repository: write owner/name, optionally @revision and :subfolder`)
  }
  if (!REVISION.test(revision) || revision.includes('..')) throw new Error(`"${revision}" is not a valid revision`)
  if (subfolder && (!SUBFOLDER.test(subfolder) || subfolder.includes('..'))) {
    throw new Error(`"${subfolder}" is not a valid subfolder`)
  }
  return { repo: rest, revision, subfolder }
}

export function formatRepoSpec(spec: RepoSpec): string {
  return `${spec.repo}${spec.revision !== 'main' ? `@${spec.revision}` : ''}${spec.subfolder ? `:${spec.subfolder}` : ''}`
}

export interface CuratedModel {
  spec: string
  name: string
  description: string
  /** Approximate download size in bytes (the exact size is listed before downloading). */
  approxBytes: number
  maps: boolean
  note: string
}

/**
 * A short list of well-known Stable Diffusion repositories published in the diffusers ONNX
 * layout. Sizes are approximate; the exact total comes from the Hub's file listing before any
 * download. `maps`: whether the export keeps attention unfused (see README "Which ONNX exports of
 * real SD models work").
 */
export const CURATED_MODELS: CuratedModel[] = [
  {
    spec: 'CompVis/stable-diffusion-v1-4@onnx',
    name: 'Stable Diffusion 1.4 (ONNX, fp32)',
    description: "The diffusers team's ONNX export of SD 1.4 (its onnx branch; U-Net weights in weights.pb). 512×512.",
    approxBytes: 4.1e9,
    maps: true,
    note: 'Plain diffusers export, attention unfused: heat maps expected. Minutes per 20-step image on a CPU.',
  },
  {
    spec: 'onnx-community/stable-diffusion-v1-5-ONNX',
    name: 'Stable Diffusion 1.5 (ONNX, fp32)',
    description: 'SD 1.5 in the diffusers ONNX layout from the ONNX Community (U-Net weights in weights.pb). 512×512.',
    approxBytes: 4.1e9,
    maps: true,
    note: 'Unoptimised fp32 export: heat maps expected. Minutes per 20-step image on a CPU.',
  },
  {
    spec: 'nmkd/stable-diffusion-1.5-onnx-fp16',
    name: 'Stable Diffusion 1.5 (ONNX, fp16)',
    description: 'SD 1.5 exported to ONNX in half precision (half the download). 512×512.',
    approxBytes: 2.1e9,
    maps: true,
    note: 'fp16 inputs and outputs are made float32 on load; heat maps expected (not an ORT-optimized export).',
  },
]

export type DownloadState =
  'queued' | 'downloading' | 'paused' | 'verifying' | 'installing' | 'done' | 'failed' | 'cancelled'

export interface DownloadFileProgress {
  path: string
  size: number
  done: number
  state: 'pending' | 'downloading' | 'verified'
}

export interface DownloadSnapshot {
  id: string
  spec: string
  /** Folder name it installs as, under the models folder. */
  name: string
  commit: string
  state: DownloadState
  totalBytes: number
  doneBytes: number
  /** Bytes per second over the last few seconds (0 when idle). */
  speed: number
  /** Seconds left at the current speed; null when unknown. */
  etaSeconds: number | null
  files: DownloadFileProgress[]
  /** Why it failed (state 'failed'). */
  error?: { code: string; message: string }
  /** Where it installed (state 'done'). */
  installedDir?: string
}

export interface InstalledModel {
  name: string
  dir: string
  bytesOnDisk: number
  width: number
  height: number
  /** Execution provider of the loaded session when this is the current model, else null (chosen on load). */
  provider: string | null
  /** Cross-attention layers the hook taps (0: no heat maps). */
  attentionLayers: number
  maps: boolean
  /** Why there are no maps, when there are none. */
  mapsNote?: string
  /** Where it came from (absent for folders copied in by hand). */
  source?: { spec: string; commit: string; installedAt: string }
  inUse: boolean
  /** Set when the folder fails validation (listed so it can be deleted). */
  problem?: string
}

export interface InstallPlanFile {
  path: string
  size: number
}

export interface InstallPlan {
  spec: string
  repo: string
  revision: string
  commit: string
  name: string
  files: InstallPlanFile[]
  totalBytes: number
  /** Files of the repo left out, with the reason (PyTorch weights, safety checker, ...). */
  skipped: { path: string; size: number; reason: string }[]
  freeBytes: number
  fits: boolean
}

export interface LibrarySettings {
  /** Where models are installed (default `<userData>/models`). */
  modelsDir: string
  /** Hub endpoint in use. */
  endpoint: string
  /** Set when HF_ENDPOINT fixes the endpoint (the setting is then ignored). */
  endpointFromEnv: boolean
  /** Hides the Hub entirely: no listing, no download. */
  offline: boolean
  /** Whether a Hugging Face token is stored (the token itself never leaves the main process). */
  tokenStored: boolean
  /** Whether tokens can be stored encrypted on this machine (OS keychain available). */
  tokenStorage: boolean
}

export interface LibraryState {
  settings: LibrarySettings
  installed: InstalledModel[]
  downloads: DownloadSnapshot[]
  curated: CuratedModel[]
}

export interface LibraryChangedEvent {
  downloads: DownloadSnapshot[]
  /** The installed list changed (install, delete, settings): fetch `library:state` again. */
  installedChanged: boolean
}
