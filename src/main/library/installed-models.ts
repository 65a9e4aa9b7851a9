/**
 * The models installed in the models folder: one sub-folder per model, validated by the same code
 * as "Open model folder" (inspectModelFolder) and the attention hook's graph scan (how many
 * cross-attention layers, whether heat maps work), written once into `.daam-model.json` when the
 * library installs it (computed on first listing for folders copied in by hand). Deleting renames
 * the folder away first, so a half-deleted model never looks installed.
 * Callers: library-service.ts (list, finalize an install, delete).
 */
import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import type { InstalledModel } from '../../shared/ipc/library'
import { AppError } from '../../shared/ipc/result'
import { prepareAttentionHook } from '../attention/hook'
import { inspectModelFolder, ModelFolderError } from '../engine'
import { writeFileAtomic } from '../history/atomic'

export const MANIFEST = '.daam-model.json'
/** Folders of the models folder that are not models: staging and deletions in progress. */
export const DOWNLOADS_DIR = '.downloads'
const TRASH_PREFIX = '.trash-'

export interface Manifest {
  width: number
  height: number
  attentionLayers: number
  mapsNote?: string
  source?: { spec: string; commit: string; installedAt: string }
}

/** Validates a complete model folder and describes it; throws AppError('model-invalid') with the reason. */
export function describeFolder(dir: string, source?: Manifest['source']): Manifest {
  try {
    const folder = inspectModelFolder(dir)
    const hook = prepareAttentionHook(folder.unetPath)
    return {
      width: folder.defaultWidth,
      height: folder.defaultHeight,
      attentionLayers: hook.taps.length,
      mapsNote: hook.taps.length ? undefined : hook.warning,
      source,
    }
  } catch (error) {
    if (error instanceof ModelFolderError) throw new AppError('model-invalid', error.message)
    throw error
  }
}

export async function writeManifest(dir: string, manifest: Manifest): Promise<void> {
  await writeFileAtomic(path.join(dir, MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`)
}

async function sizeOnDisk(dir: string): Promise<number> {
  let total = 0
  for (const entry of await fs.promises.readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) total += (await fs.promises.stat(path.join(entry.parentPath, entry.name))).size
  }
  return total
}

function readManifest(dir: string): Manifest | null {
  try {
    const m = JSON.parse(fs.readFileSync(path.join(dir, MANIFEST), 'utf8')) as Manifest
    return typeof m.width === 'number' && typeof m.attentionLayers === 'number' ? m : null
  } catch {
    return null
  }
}

export class InstalledModels {
  /** Descriptions of hand-copied folders, computed once per folder and mtime. */
  private readonly described = new Map<string, { mtimeMs: number; manifest: Manifest | string }>()

  constructor(private readonly root: () => string) {}

  dirOf(name: string): string {
    if (!name || name.startsWith('.') || name !== path.basename(name)) {
      throw new AppError('invalid-request', `"${name}" is not an installed model name`)
    }
    return path.join(this.root(), name)
  }

  exists(name: string): boolean {
    return fs.existsSync(this.dirOf(name))
  }

  async list(active: { dir: string | null; provider: string | null }): Promise<InstalledModel[]> {
    const root = this.root()
    let entries: fs.Dirent[]
    try {
      entries = await fs.promises.readdir(root, { withFileTypes: true })
    } catch {
      return [] // no models folder yet
    }
    const out: InstalledModel[] = []
    for (const entry of entries) {
      if (!entry.isDirectory() || entry.name.startsWith('.')) continue
      const dir = path.join(root, entry.name)
      if (!fs.existsSync(path.join(dir, 'model_index.json'))) continue
      const inUse = active.dir !== null && path.resolve(active.dir) === path.resolve(dir)
      const base = {
        name: entry.name,
        dir,
        bytesOnDisk: await sizeOnDisk(dir),
        inUse,
        provider: inUse ? active.provider : null,
      }
      const manifest = readManifest(dir) ?? this.describeCached(dir)
      if (typeof manifest === 'string') {
        out.push({ ...base, width: 0, height: 0, attentionLayers: 0, maps: false, problem: manifest })
        continue
      }
      out.push({
        ...base,
        width: manifest.width,
        height: manifest.height,
        attentionLayers: manifest.attentionLayers,
        maps: manifest.attentionLayers > 0,
        mapsNote: manifest.mapsNote,
        source: manifest.source,
      })
    }
    return out.sort((a, b) => a.name.localeCompare(b.name))
  }

  private describeCached(dir: string): Manifest | string {
    const mtimeMs = fs.statSync(dir).mtimeMs
    const hit = this.described.get(dir)
    if (hit && hit.mtimeMs === mtimeMs) return hit.manifest
    let manifest: Manifest | string
    try {
      manifest = describeFolder(dir)
    } catch (error) {
      manifest = error instanceof Error ? error.message : String(error)
    }
    this.described.set(dir, { mtimeMs, manifest })
    return manifest
  }

  /** Deletes an installed model; refuses the model in use. */
  async remove(name: string, activeDir: string | null): Promise<void> {
    const dir = this.dirOf(name)
    if (!fs.existsSync(dir)) throw new AppError('not-found', `No model named ${name} in ${this.root()}.`)
    if (activeDir && path.resolve(activeDir) === path.resolve(dir)) {
      throw new AppError('in-use', `${name} is the model in use. Switch to another model first, then delete it.`)
    }
    const trash = path.join(this.root(), `${TRASH_PREFIX}${name}-${randomBytes(3).toString('hex')}`)
    await fs.promises.rename(dir, trash)
    this.described.delete(dir)
    await fs.promises.rm(trash, { recursive: true, force: true })
  }

  /** Removes deletions a crash interrupted. */
  async sweep(): Promise<void> {
    const root = this.root()
    const entries = await fs.promises.readdir(root).catch(() => [] as string[])
    for (const name of entries) {
      if (name.startsWith(TRASH_PREFIX)) await fs.promises.rm(path.join(root, name), { recursive: true, force: true })
    }
  }
}
