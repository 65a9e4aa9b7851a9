/**
 * The model library (issue 15): browse a Hub repository, check it is a diffusers ONNX pipeline,
 * download the files the app needs (verified, resumable, two or more at once), install them under
 * the models folder and manage what is installed. All network and disk work stays in the main
 * process; the renderer sees `library:changed` events and calls the `library:*` channels.
 * Callers: AppService (owns one, binds the channels), scripts/models.ts (the CLI), tests.
 * No `electron` import: the token store and "reveal in folder" are injected by src/main/index.ts.
 */
import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import {
  CURATED_MODELS,
  formatRepoSpec,
  parseRepoSpec,
  type DownloadSnapshot,
  type InstallPlan,
  type LibrarySettings,
  type LibraryState,
  type RepoSpec,
} from '../../shared/ipc/library'
import { AppError } from '../../shared/ipc/result'
import { describeFsError, writeFileAtomic } from '../history/atomic'
import type { ServiceEvents } from '../service/events'
import { DownloadJob, JOB_FILE, type JobDeps, type JobDescriptor } from './downloads'
import { DEFAULT_HUB_ENDPOINT, gatedError, HubClient } from './hub-client'
import { DOWNLOADS_DIR, describeFolder, InstalledModels, writeManifest } from './installed-models'
import { planLayout, type LayoutPlan } from './layout'

/** An encrypted place for secrets (Electron's safeStorage in the app; an in-memory one in tests). */
export interface SecretStore {
  /** True when values are encrypted by the OS (Keychain, DPAPI, libsecret/kwallet). */
  readonly encrypted: boolean
  get(key: string): Promise<string | null>
  set(key: string, value: string | null): Promise<void>
}

export interface LibraryOptions {
  /** Default models folder (the setting overrides it). */
  defaultModelsDir: string
  /** Fixed Hub endpoint (HF_ENDPOINT, or a test's server); the setting is then ignored. */
  endpoint?: string
  /** Where `library.json` (settings) lives; null keeps settings in memory. */
  settingsFile: string | null
  secrets?: SecretStore
  events?: ServiceEvents
  /** The folder of the model in use and its provider, or nulls. */
  activeModel: () => { dir: string | null; provider: string | null }
  /** Shows a folder in the OS file manager (Electron's shell in the app). */
  reveal?: (dir: string) => void
}

interface SettingsData {
  modelsDir?: string
  endpoint?: string
  offline?: boolean
}

const TOKEN_KEY = 'hf-token'
const EVENT_INTERVAL_MS = 200
const TOKEN = /^hf_[A-Za-z0-9]{20,200}$/

function installName(spec: RepoSpec): string {
  const parts = [spec.repo.split('/')[1]]
  if (spec.revision !== 'main') parts.push(spec.revision)
  if (spec.subfolder) parts.push(spec.subfolder)
  return parts
    .join('-')
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .replace(/^[.-]+/, '')
}

function validEndpoint(text: string): string {
  let url: URL
  try {
    url = new URL(text)
  } catch {
    throw new AppError('invalid-request', `"${text}" is not a URL (e.g. https://huggingface.co)`)
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new AppError('invalid-request', `The Hub endpoint must be an http(s) URL, not ${url.protocol}`)
  }
  return url.href.replace(/\/+$/, '')
}

/** Free bytes on the file system that holds `dir` (or its nearest existing parent). */
async function freeBytes(dir: string): Promise<number> {
  let probe = path.resolve(dir)
  while (!fs.existsSync(probe) && path.dirname(probe) !== probe) probe = path.dirname(probe)
  const s = await fs.promises.statfs(probe)
  return s.bavail * s.bsize
}

function gb(bytes: number): string {
  return bytes >= 1e9 ? `${(bytes / 1e9).toFixed(2)} GB` : `${(bytes / 1e6).toFixed(1)} MB`
}

export class LibraryService {
  readonly installed: InstalledModels
  private settings: SettingsData = {}
  private readonly jobs = new Map<string, DownloadJob>()
  private sessionToken: string | null = null
  private restored: Promise<void> | null = null
  private eventTimer: NodeJS.Timeout | null = null
  private installedChanged = false

  constructor(private readonly options: LibraryOptions) {
    if (options.settingsFile) {
      try {
        const raw = JSON.parse(fs.readFileSync(options.settingsFile, 'utf8')) as SettingsData
        this.settings = {
          modelsDir: typeof raw.modelsDir === 'string' ? raw.modelsDir : undefined,
          endpoint: typeof raw.endpoint === 'string' ? raw.endpoint : undefined,
          offline: raw.offline === true,
        }
      } catch {
        // no settings yet (or unreadable): defaults
      }
    }
    this.installed = new InstalledModels(() => this.modelsDir)
  }

  get modelsDir(): string {
    return this.settings.modelsDir ?? this.options.defaultModelsDir
  }

  get endpoint(): string {
    return (this.options.endpoint ?? this.settings.endpoint ?? DEFAULT_HUB_ENDPOINT).replace(/\/+$/, '')
  }

  private get stagingRoot(): string {
    return path.join(this.modelsDir, DOWNLOADS_DIR)
  }

  /** Restores downloads a previous run left (paused, resumable), once per models folder. */
  private ready(): Promise<void> {
    this.restored ??= (async () => {
      await this.installed.sweep()
      const ids = await fs.promises.readdir(this.stagingRoot).catch(() => [] as string[])
      for (const id of ids) {
        if (this.jobs.has(id)) continue
        const stage = path.join(this.stagingRoot, id)
        try {
          const desc = JSON.parse(await fs.promises.readFile(path.join(stage, JOB_FILE), 'utf8')) as JobDescriptor
          if (desc.id !== id || !Array.isArray(desc.files)) throw new Error('bad job file')
          this.jobs.set(id, new DownloadJob(desc, stage, this.jobDeps()))
        } catch {
          await fs.promises.rm(stage, { recursive: true, force: true }) // not resumable: leave nothing
        }
      }
    })()
    return this.restored
  }

  async getSettings(): Promise<LibrarySettings> {
    const token = await this.token()
    return {
      modelsDir: this.modelsDir,
      endpoint: this.endpoint,
      endpointFromEnv: !!this.options.endpoint,
      offline: this.settings.offline === true,
      tokenStored: !!token,
      tokenStorage: this.options.secrets?.encrypted === true,
    }
  }

  async state(): Promise<LibraryState> {
    await this.ready()
    return {
      settings: await this.getSettings(),
      installed: await this.installed.list(this.options.activeModel()),
      downloads: this.downloads(),
      curated: CURATED_MODELS,
    }
  }

  downloads(): DownloadSnapshot[] {
    return [...this.jobs.values()].map((j) => j.snapshot())
  }

  private async token(): Promise<string | null> {
    if (this.sessionToken) return this.sessionToken
    return (await this.options.secrets?.get(TOKEN_KEY).catch(() => null)) ?? null
  }

  private async client(): Promise<HubClient> {
    if (this.settings.offline) {
      throw new AppError('offline', 'The Hub is switched off (offline mode). Turn it on in the Models panel settings.')
    }
    return new HubClient(this.endpoint, await this.token())
  }

  /** Lists the repository, checks its layout and the free disk space; downloads nothing. */
  async inspect(specText: string): Promise<InstallPlan> {
    return (await this.plan(specText)).plan
  }

  private async plan(specText: string): Promise<{ plan: InstallPlan; layout: LayoutPlan }> {
    await this.ready()
    let spec: RepoSpec
    try {
      spec = parseRepoSpec(specText)
    } catch (error) {
      throw new AppError('invalid-request', (error as Error).message)
    }
    const client = await this.client()
    const listing = await client.listRepo(spec.repo, spec.revision)
    // the Hub lists a gated repo's files to anyone but serves them only to granted tokens
    if (listing.gated && !client.hasToken) throw gatedError(spec.repo, this.endpoint, false)
    const layout = planLayout(spec.repo, listing.files, spec.subfolder)
    const totalBytes = layout.files.reduce((s, f) => s + f.size, 0)
    const free = await freeBytes(this.modelsDir)
    const plan: InstallPlan = {
      spec: formatRepoSpec(spec),
      repo: spec.repo,
      revision: spec.revision,
      commit: listing.commit,
      name: installName(spec),
      files: layout.files.map((f) => ({ path: f.path, size: f.size })),
      totalBytes,
      skipped: layout.skipped,
      freeBytes: free,
      fits: totalBytes <= free,
    }
    return { plan, layout }
  }

  /** Plans, checks and starts a download; returns at once (progress comes as events). */
  async add(specText: string): Promise<DownloadSnapshot> {
    const { plan, layout } = await this.plan(specText)
    if (this.installed.exists(plan.name)) {
      throw new AppError(
        'exists',
        `${plan.name} is already installed in ${this.modelsDir}. Delete it first to install it again.`,
      )
    }
    for (const j of [...this.jobs.values()].filter((j) => j.desc.name === plan.name)) {
      const resumable = j.state === 'paused' || (j.state === 'failed' && j.error?.code === 'network')
      if (j.active || resumable)
        throw new AppError('busy', `${plan.name} is already being downloaded (resume or cancel it).`)
      this.jobs.delete(j.id) // a finished, cancelled or failed attempt: replaced by this one
    }
    const reserved = [...this.jobs.values()].filter((j) => j.active).reduce((s, j) => s + j.remainingBytes, 0)
    if (plan.totalBytes + reserved > plan.freeBytes) {
      throw new AppError(
        'disk-full',
        `Not enough free space in ${this.modelsDir}: ${plan.spec} needs ${gb(plan.totalBytes)}` +
          (reserved ? ` (plus ${gb(reserved)} for downloads in progress)` : '') +
          `, ${gb(plan.freeBytes)} is free. Nothing was downloaded.`,
      )
    }
    const desc: JobDescriptor = {
      id: `${plan.name}-${randomBytes(4).toString('hex')}`,
      spec: plan.spec,
      repo: plan.repo,
      commit: plan.commit,
      name: plan.name,
      files: layout.files,
      createdAt: new Date().toISOString(),
    }
    let job: DownloadJob
    try {
      job = await DownloadJob.create(desc, path.join(this.stagingRoot, desc.id), this.jobDeps())
    } catch (error) {
      throw new AppError('disk', describeFsError(error, `prepare ${this.stagingRoot}`))
    }
    this.jobs.set(desc.id, job)
    void job.start(await this.client())
    return job.snapshot()
  }

  private jobDeps(): JobDeps {
    return {
      finalize: (stage, desc) => this.finalize(stage, desc),
      onChange: () => this.scheduleEvent(),
    }
  }

  private job(id: string): DownloadJob {
    const job = this.jobs.get(id)
    if (!job) throw new AppError('not-found', `No download ${id}.`)
    return job
  }

  async pause(id: string): Promise<DownloadSnapshot> {
    await this.ready()
    const job = this.job(id)
    await job.pause()
    return job.snapshot()
  }

  async resume(id: string): Promise<DownloadSnapshot> {
    await this.ready()
    const job = this.job(id)
    if (job.state === 'failed' && job.error?.code !== 'network') {
      throw new AppError('invalid-request', `${job.desc.name} failed (${job.error?.message}); add it again.`)
    }
    void job.start(await this.client())
    return job.snapshot()
  }

  async cancel(id: string): Promise<DownloadSnapshot> {
    await this.ready()
    const job = this.job(id)
    await job.cancel()
    this.jobs.delete(id)
    this.scheduleEvent()
    return job.snapshot()
  }

  /** Waits until a download stops (done, paused, failed or cancelled); used by the CLI and tests. */
  async settled(id: string): Promise<DownloadSnapshot> {
    const job = this.job(id)
    await job.settled()
    return job.snapshot()
  }

  async remove(name: string): Promise<{ removed: true }> {
    await this.ready()
    await this.installed.remove(name, this.options.activeModel().dir)
    this.installedChanged = true
    this.scheduleEvent()
    return { removed: true }
  }

  reveal(name: string): { revealed: boolean } {
    const dir = this.installed.dirOf(name)
    if (!fs.existsSync(dir)) throw new AppError('not-found', `No model named ${name}.`)
    if (!this.options.reveal) throw new AppError('unavailable', 'There is no file manager in this environment.')
    this.options.reveal(dir)
    return { revealed: true }
  }

  async setToken(token: string | null): Promise<LibrarySettings> {
    if (token !== null && !TOKEN.test(token)) {
      throw new AppError(
        'invalid-request',
        'A Hugging Face token starts with hf_ followed by letters and digits (create one at huggingface.co/settings/tokens).',
      )
    }
    if (this.options.secrets?.encrypted) {
      await this.options.secrets.set(TOKEN_KEY, token)
      this.sessionToken = null
    } else {
      // no OS encryption available: never written to disk, kept for this session only
      this.sessionToken = token
    }
    return this.getSettings()
  }

  async updateSettings(patch: {
    modelsDir?: string
    endpoint?: string | null
    offline?: boolean
  }): Promise<LibrarySettings> {
    const next = { ...this.settings }
    if (patch.modelsDir !== undefined) {
      if (!path.isAbsolute(patch.modelsDir))
        throw new AppError('invalid-request', 'The models folder must be an absolute path.')
      if ([...this.jobs.values()].some((j) => j.active)) {
        throw new AppError('busy', 'Pause or cancel the downloads before moving the models folder.')
      }
      next.modelsDir = path.resolve(patch.modelsDir)
    }
    if (patch.endpoint !== undefined)
      next.endpoint = patch.endpoint === null ? undefined : validEndpoint(patch.endpoint)
    if (patch.offline !== undefined) next.offline = patch.offline
    if (next.offline && !this.settings.offline) {
      for (const job of this.jobs.values()) await job.pause()
    }
    if (next.modelsDir !== this.settings.modelsDir) {
      this.jobs.clear()
      this.restored = null
    }
    this.settings = next
    if (this.options.settingsFile) {
      await fs.promises.mkdir(path.dirname(this.options.settingsFile), { recursive: true })
      await writeFileAtomic(this.options.settingsFile, `${JSON.stringify(this.settings, null, 2)}\n`)
    }
    this.installedChanged = true
    this.scheduleEvent()
    return this.getSettings()
  }

  private async finalize(stage: string, desc: JobDescriptor): Promise<string> {
    await fs.promises.rm(path.join(stage, JOB_FILE), { force: true })
    // the same validation as "Open model folder", plus the attention scan for the list
    const manifest = describeFolder(stage, {
      spec: desc.spec,
      commit: desc.commit,
      installedAt: new Date().toISOString(),
    })
    await writeManifest(stage, manifest)
    const target = this.installed.dirOf(desc.name)
    if (fs.existsSync(target))
      throw new AppError('exists', `${desc.name} appeared in ${this.modelsDir} meanwhile; not replaced.`)
    await fs.promises.rename(stage, target)
    this.installedChanged = true
    return target
  }

  private scheduleEvent(): void {
    if (!this.options.events || this.eventTimer) return
    this.eventTimer = setTimeout(() => {
      this.eventTimer = null
      const installedChanged = this.installedChanged
      this.installedChanged = false
      this.options.events?.emit('library:changed', { downloads: this.downloads(), installedChanged })
    }, EVENT_INTERVAL_MS)
  }

  /** Pauses running downloads (they resume from their partial files next time). */
  async dispose(): Promise<void> {
    if (this.eventTimer) clearTimeout(this.eventTimer)
    this.eventTimer = null
    await Promise.all([...this.jobs.values()].map((j) => j.pause()))
  }
}
