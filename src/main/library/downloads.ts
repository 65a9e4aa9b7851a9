/**
 * One model download: its files fetched one after another into a staging folder
 * (`<models>/.downloads/<id>/`), each into `<file>.part` (appended to, so a dropped connection or
 * a restart resumes with an HTTP range request from the bytes already there), hashed while it
 * streams and checked against the Hub's hash (LFS sha256, or the git blob sha1 of small files)
 * before it is renamed to its real name. Only when every file is verified does `finalize` validate
 * the folder and rename it into place, so a crash never leaves a half model that looks installed.
 * Callers: library-service.ts (creates, pauses, resumes and cancels jobs; restores them on start).
 */
import { createHash, type Hash } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import type { DownloadSnapshot, DownloadState } from '../../shared/ipc/library'
import { AppError } from '../../shared/ipc/result'
import { describeFsError, writeFileAtomic } from '../history/atomic'
import type { HubClient, HubFile } from './hub-client'

export const JOB_FILE = 'job.json'
const PART = '.part'
/** A dropped connection is retried from where it stopped this many times before the job fails. */
const NETWORK_ATTEMPTS = 4
const SPEED_WINDOW_MS = 3000

export interface JobFile extends HubFile {
  /** Path inside the repository (differs from `path` with a subfolder). */
  repoPath: string
}

/** What is persisted in `job.json`, enough to resume after a restart. */
export interface JobDescriptor {
  id: string
  spec: string
  repo: string
  commit: string
  name: string
  files: JobFile[]
  createdAt: string
}

export interface JobDeps {
  /** Validates the complete staging folder and renames it into place; returns the installed folder. */
  finalize: (stageDir: string, job: JobDescriptor) => Promise<string>
  onChange: (job: DownloadJob) => void
}

function fileHash(f: JobFile): Hash {
  const h = createHash(f.sha256 ? 'sha256' : 'sha1')
  // the Hub's oid of a small file is its git blob id: sha1 over "blob <size>\0" + content
  if (!f.sha256) h.update(`blob ${f.size}\0`)
  return h
}

function cleanEtag(etag: string): string {
  return etag.replace(/^W\//, '').replace(/"/g, '')
}

const DISK_ERRORS = new Set(['ENOSPC', 'EDQUOT', 'EROFS', 'EACCES', 'EPERM', 'EISDIR', 'ENOTDIR'])

/** Errors worth retrying from the current offset: everything but our own verdicts, aborts and disk errors. */
function isNetworkError(error: unknown): boolean {
  if (error instanceof AppError) return error.code === 'network'
  const e = error as { name?: string; code?: string } | undefined
  if (e?.name === 'AbortError') return false
  return !(e?.code && DISK_ERRORS.has(e.code))
}

export class DownloadJob {
  state: DownloadState = 'paused'
  error?: { code: string; message: string }
  installedDir?: string
  private readonly done = new Map<string, number>()
  private readonly verified = new Set<string>()
  private current: string | null = null
  private controller: AbortController | null = null
  private stopReason: 'pause' | 'cancel' | null = null
  private running: Promise<void> | null = null
  private samples: [number, number][] = []
  /** Endpoint and token of the current run (fixed when it starts). */
  private client: HubClient | null = null

  constructor(
    readonly desc: JobDescriptor,
    readonly stageDir: string,
    private readonly deps: JobDeps,
  ) {
    // what a previous run left (restart): verified files and partial ones count as done bytes
    for (const f of desc.files) {
      const full = path.join(stageDir, f.path)
      const size = (p: string): number => {
        try {
          return fs.statSync(p).size
        } catch {
          return -1
        }
      }
      if (size(full) === f.size) {
        this.verified.add(f.path)
        this.done.set(f.path, f.size)
      } else this.done.set(f.path, Math.max(0, Math.min(size(full + PART), f.size)))
    }
  }

  static async create(desc: JobDescriptor, stageDir: string, deps: JobDeps): Promise<DownloadJob> {
    await fs.promises.mkdir(stageDir, { recursive: true })
    await writeFileAtomic(path.join(stageDir, JOB_FILE), `${JSON.stringify(desc, null, 2)}\n`)
    return new DownloadJob(desc, stageDir, deps)
  }

  get id(): string {
    return this.desc.id
  }

  get active(): boolean {
    return this.running !== null
  }

  get totalBytes(): number {
    return this.desc.files.reduce((s, f) => s + f.size, 0)
  }

  get doneBytes(): number {
    let s = 0
    for (const v of this.done.values()) s += v
    return s
  }

  get remainingBytes(): number {
    return this.totalBytes - this.doneBytes
  }

  snapshot(): DownloadSnapshot {
    const speed = this.speed()
    const remaining = this.remainingBytes
    return {
      id: this.id,
      spec: this.desc.spec,
      name: this.desc.name,
      commit: this.desc.commit,
      state: this.state,
      totalBytes: this.totalBytes,
      doneBytes: this.doneBytes,
      speed,
      etaSeconds: this.state === 'downloading' && speed > 0 ? Math.ceil(remaining / speed) : null,
      files: this.desc.files.map((f) => ({
        path: f.path,
        size: f.size,
        done: this.done.get(f.path) ?? 0,
        state: this.verified.has(f.path) ? 'verified' : this.current === f.path ? 'downloading' : 'pending',
      })),
      error: this.error,
      installedDir: this.installedDir,
    }
  }

  /** Starts or resumes; resolves when the job stops (done, paused, cancelled or failed). */
  start(client: HubClient): Promise<void> {
    if (this.running) return this.running
    this.client = client
    if (this.state === 'done' || this.state === 'cancelled') return Promise.resolve()
    this.error = undefined
    this.stopReason = null
    this.controller = new AbortController()
    this.setState('downloading')
    this.running = this.run(this.controller.signal).finally(() => {
      this.running = null
      this.controller = null
      this.samples = []
      this.deps.onChange(this)
    })
    return this.running
  }

  /** Stops after keeping what is downloaded; `start` resumes from there. */
  async pause(): Promise<void> {
    if (!this.running) return
    this.stopReason = 'pause'
    this.controller?.abort()
    await this.running
  }

  /** Stops and removes the staging folder. */
  async cancel(): Promise<void> {
    this.stopReason = 'cancel'
    this.controller?.abort()
    await this.running
    if (this.state === 'done') return // it finished installing before the cancel landed: keep it
    await fs.promises.rm(this.stageDir, { recursive: true, force: true })
    this.setState('cancelled')
  }

  /** Resolves when the running job stops (immediately when idle). */
  async settled(): Promise<void> {
    await this.running
  }

  private setState(state: DownloadState): void {
    this.state = state
    this.deps.onChange(this)
  }

  private speed(): number {
    if (this.samples.length < 2) return 0
    const [t0, b0] = this.samples[0]
    const [t1, b1] = this.samples[this.samples.length - 1]
    return t1 > t0 ? ((b1 - b0) * 1000) / (t1 - t0) : 0
  }

  private progress(file: string, bytes: number): void {
    this.done.set(file, bytes)
    const now = Date.now()
    this.samples.push([now, this.doneBytes])
    while (this.samples.length > 2 && now - this.samples[0][0] > SPEED_WINDOW_MS) this.samples.shift()
    this.deps.onChange(this)
  }

  private async run(signal: AbortSignal): Promise<void> {
    try {
      for (const f of this.desc.files) {
        if (this.verified.has(f.path)) continue
        this.current = f.path
        for (let attempt = 1; ; attempt++) {
          try {
            await this.fetchFile(f, signal)
            break
          } catch (error) {
            if (signal.aborted || !isNetworkError(error) || attempt >= NETWORK_ATTEMPTS) throw error
            await new Promise((r) => setTimeout(r, 250 * attempt))
          }
        }
        this.current = null
      }
      this.setState('installing')
      this.installedDir = await this.deps.finalize(this.stageDir, this.desc)
      this.setState('done')
    } catch (error) {
      this.current = null
      if (signal.aborted && this.stopReason === 'pause') return this.setState('paused')
      if (signal.aborted && this.stopReason === 'cancel') return // cancel() removes the folder
      const failure = this.describe(error)
      this.error = { code: failure.code, message: failure.message }
      // A lost connection keeps the partial files (resume picks up there); anything else leaves nothing.
      if (failure.code !== 'network')
        await fs.promises.rm(this.stageDir, { recursive: true, force: true }).catch(() => {})
      this.setState('failed')
    }
  }

  private describe(error: unknown): AppError {
    const code = (error as NodeJS.ErrnoException | undefined)?.code
    if (code === 'ENOSPC' || code === 'EDQUOT') {
      return new AppError(
        'disk-full',
        `${describeFsError(error, `download ${this.desc.spec}`)} Its partial files were removed; installed models are untouched. Free some space (or choose another models folder) and add it again.`,
      )
    }
    if (code && ['EROFS', 'EACCES', 'EPERM'].includes(code)) {
      return new AppError('disk', describeFsError(error, `write ${this.desc.spec} into ${this.stageDir}`))
    }
    if (error instanceof AppError) return error
    return new AppError(
      'network',
      `The connection to the Hub was lost while downloading ${this.desc.spec} (${error instanceof Error ? error.message : String(error)}). Resume to continue where it stopped.`,
    )
  }

  private async fetchFile(f: JobFile, signal: AbortSignal): Promise<void> {
    const target = path.join(this.stageDir, f.path)
    const part = target + PART
    await fs.promises.mkdir(path.dirname(target), { recursive: true })
    let offset = 0
    try {
      offset = (await fs.promises.stat(part)).size
    } catch {
      offset = 0
    }
    if (offset > f.size) {
      await fs.promises.rm(part, { force: true })
      offset = 0
    }
    const hash = fileHash(f)
    if (offset > 0) {
      // the bytes kept from before go through the hash first, so the whole file is verified
      for await (const chunk of fs.createReadStream(part, { start: 0, end: offset - 1 })) hash.update(chunk as Buffer)
    }
    const expected = f.sha256 ?? f.gitOid
    if (offset < f.size) {
      const opened = await this.client!.openFile(this.desc.repo, this.desc.commit, f.repoPath, offset, signal)
      if (opened.size !== f.size) {
        await opened.stream.cancel().catch(() => {})
        throw new AppError(
          'hub-changed',
          `${f.path} on the Hub is ${opened.size} bytes, the listing said ${f.size}. Add the model again.`,
        )
      }
      const etag = cleanEtag(opened.etag)
      if (
        expected &&
        /^[0-9a-f]{40}([0-9a-f]{24})?$/.test(etag) &&
        etag.length === expected.length &&
        etag !== expected
      ) {
        await opened.stream.cancel().catch(() => {})
        throw new AppError(
          'hash-mismatch',
          `${f.path}: the Hub's etag ${etag} does not match the listed hash ${expected}. Nothing was installed.`,
        )
      }
      const fh = await fs.promises.open(part, 'a')
      let written = offset
      try {
        for await (const chunk of opened.stream) {
          if (written + chunk.length > f.size)
            throw new AppError('hub-changed', `${f.path} is longer than listed on the Hub.`)
          await fh.write(chunk)
          hash.update(chunk)
          written += chunk.length
          this.progress(f.path, written)
        }
      } catch (error) {
        if (typeof error === 'string') throw new Error(error) // WebBlob aborts its stream with a message
        throw error
      } finally {
        await fh.close()
      }
      if (signal.aborted) throw Object.assign(new Error('aborted'), { name: 'AbortError' })
      if (written < f.size) throw new Error(`${f.path}: the connection closed after ${written} of ${f.size} bytes`)
    }
    const digest = hash.digest('hex')
    if (expected && digest !== expected) {
      await fs.promises.rm(part, { force: true })
      this.done.set(f.path, 0)
      throw new AppError(
        'hash-mismatch',
        `${f.path} does not match the hash the Hub lists for it (${f.sha256 ? 'sha256' : 'git sha1'} ${digest.slice(0, 12)}…, expected ${expected.slice(0, 12)}…): the download is corrupted. Nothing was installed.`,
      )
    }
    await fs.promises.rename(part, target)
    this.verified.add(f.path)
    this.progress(f.path, f.size)
  }
}
