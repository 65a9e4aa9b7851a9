/**
 * Every generation on disk under `<userData>/history/<id>/`: image.png, thumb.png, record.bin, source.png (attributed images)
 * (the serialised attention record, when there is one) and meta.json (parameters, words, model).
 * An entry is written into a temporary folder and renamed into place, so a crash, a full disk
 * or a read-only folder never leaves half an entry and never touches entries already saved.
 * Reading is defensive: meta.json is validated with the IPC layer's own schemas
 * (src/shared/ipc/payloads.ts), and an entry that fails is reported and skipped, never a crash
 * and never a payload with fields missing.
 *
 * Listing is paged and indexed: `index.json` (written atomically on save and delete) holds each
 * entry's list fields, so a refresh reads the index (only when it changed on disk) and one
 * thumbnail per shown item, not every entry (2,001 entries cost 14.5 MB per refresh before).
 * The index is reconciled with the folder's listing on every call: entries added or removed
 * behind its back (another process, a restore from backup, a lost index) are read or dropped.
 * Callers: AppService (history:list/get/delete, saving each generation) and tests.
 */
import { randomBytes } from 'node:crypto'
import fs from 'node:fs/promises'
import path from 'node:path'
import sharp from 'sharp'
import { z } from 'zod'
import { deserializeRecord } from '../../shared/attention-record'
import { AppError } from '../../shared/ipc/result'
import {
  describeSchemaIssue,
  generationMetaSchema,
  historyPageSchema,
  type GenerationPayload,
  type HistoryItem,
  type HistoryList,
  type HistoryPage,
  type KnockoutEntry,
} from '../../shared/ipc/payloads'
import { describeFsError, writeDirAtomic, writeFileAtomic } from './atomic'

/** What meta.json holds: the payload without its binary parts. */
const storedMetaSchema = generationMetaSchema.extend({
  format: z.literal('daam-history/1'),
  hasRecord: z.boolean(),
})
export type StoredMeta = Omit<GenerationPayload, 'png' | 'rgb' | 'record' | 'layers' | 'sourcePng'> &
  Partial<Pick<GenerationPayload, 'layers'>> & { format: 'daam-history/1'; hasRecord: boolean }

/** knockouts.json: the figures of an entry's knock-outs (their images are files next to it). */
const KNOCKOUTS = 'knockouts.json'
const unit = z.number().min(0).max(1)
const knockoutsFileSchema = z.object({
  format: z.literal('daam-knockouts/1'),
  entries: z.array(
    z.object({
      word: z.string().min(1).max(200),
      tokens: z.array(z.number().int().min(0)),
      width: z.number().int().positive(),
      height: z.number().int().positive(),
      changeSize: unit,
      agreement: unit,
      attentionShare: unit,
      disagree: z.boolean(),
      tau: unit,
      fromStep: z.number().int().min(0),
      ms: z.number().min(0),
    }),
  ),
})

/** A history item without its thumbnail: what index.json keeps per entry. */
const indexItemSchema = z.object({
  id: generationMetaSchema.shape.id,
  createdAt: generationMetaSchema.shape.createdAt,
  prompt: z.string(),
  seed: z.number(),
  steps: z.number(),
  width: z.number(),
  height: z.number(),
  model: z.string(),
  attributed: z.boolean().optional(),
})
type IndexItem = z.infer<typeof indexItemSchema>
const indexSchema = z.object({
  format: z.literal('daam-history-index/1'),
  items: z.array(indexItemSchema),
  skipped: z.array(z.object({ id: z.string(), reason: z.string() })),
})
type HistoryIndex = z.infer<typeof indexSchema>

const ID_RE = /^[0-9A-Za-z-]{8,64}$/
const THUMB = 96
const INDEX = 'index.json'

/** Sortable, unique id: UTC time to the millisecond, then random hex. */
export function newGenerationId(now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').replace('.', '-').replace('Z', '')
  return `${stamp}-${randomBytes(3).toString('hex')}`
}

/** Parses and validates one entry's meta.json; the error names the first bad field. */
function parseMeta(text: string, id: string): StoredMeta {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (error) {
    throw new Error(`meta.json is not valid JSON: ${(error as Error).message}`)
  }
  const r = storedMetaSchema.safeParse(json)
  if (!r.success) throw new Error(`meta.json is invalid at ${describeSchemaIssue(r.error)}`)
  if (r.data.id !== id) throw new Error(`meta.json belongs to entry ${r.data.id}, not ${id}`)
  return r.data
}

function indexItem(meta: StoredMeta): IndexItem {
  const p = meta.params
  return {
    id: meta.id,
    createdAt: meta.createdAt,
    prompt: p.prompt,
    seed: p.seed,
    steps: p.steps,
    width: meta.width,
    height: meta.height,
    model: meta.model.name,
    ...(meta.attributed ? { attributed: true } : {}),
  }
}

const newestFirst = (a: { id: string }, b: { id: string }): number => (a.id < b.id ? 1 : a.id > b.id ? -1 : 0)

export class HistoryStore {
  /** The index as last read or written, and the stat stamp of index.json it matches. */
  private cache: { index: HistoryIndex; stamp: string } | null = null
  /** Index updates run one at a time (save, delete and a listing's repair all rewrite it). */
  private queue: Promise<unknown> = Promise.resolve()

  constructor(readonly dir: string) {}

  private entryDir(id: string): string {
    if (!ID_RE.test(id)) throw new AppError('invalid-request', `Not a history id: ${id}`)
    return path.join(this.dir, id)
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.queue.then(fn, fn)
    this.queue = next.catch(() => undefined)
    return next
  }

  private async indexStamp(): Promise<string | null> {
    try {
      const st = await fs.stat(path.join(this.dir, INDEX))
      return `${st.mtimeMs}:${st.size}:${st.ino}`
    } catch {
      return null
    }
  }

  /** index.json as on disk (from the cache when unchanged); null when missing or unreadable. */
  private async readIndex(): Promise<HistoryIndex | null> {
    const stamp = await this.indexStamp()
    if (stamp === null) return null
    if (this.cache?.stamp === stamp) return this.cache.index
    try {
      const r = indexSchema.safeParse(JSON.parse(await fs.readFile(path.join(this.dir, INDEX), 'utf8')))
      if (!r.success) return null
      this.cache = { index: r.data, stamp }
      return r.data
    } catch {
      return null
    }
  }

  private async writeIndex(index: HistoryIndex): Promise<void> {
    try {
      await writeFileAtomic(path.join(this.dir, INDEX), JSON.stringify(index))
      const stamp = await this.indexStamp()
      this.cache = stamp ? { index, stamp } : null
    } catch {
      // The index is a cache: when it cannot be written (read-only or full disk) the next listing
      // reconciles it from the folder again.
      this.cache = null
    }
  }

  /**
   * The index brought in line with the entry folders present now: new ones read, gone ones
   * dropped. Skipped entries are read again (they are few) so that one repaired by hand comes back.
   */
  private async reconcile(names: string[]): Promise<HistoryIndex> {
    return this.exclusive(async () => {
      const old = await this.readIndex()
      const present = new Set(names)
      const items = (old?.items ?? []).filter((i) => present.has(i.id))
      const skipped: HistoryIndex['skipped'] = []
      const known = new Set(items.map((i) => i.id))
      const added = names.filter((id) => !known.has(id))
      for (const id of added) {
        try {
          items.push(indexItem(parseMeta(await fs.readFile(path.join(this.dir, id, 'meta.json'), 'utf8'), id)))
        } catch (error) {
          skipped.push({ id, reason: error instanceof Error ? error.message : String(error) })
        }
      }
      const index: HistoryIndex = {
        format: 'daam-history-index/1',
        items: items.sort(newestFirst),
        skipped: skipped.sort(newestFirst),
      }
      const changed =
        !old || items.length !== old.items.length || JSON.stringify(index.skipped) !== JSON.stringify(old.skipped)
      if (changed) await this.writeIndex(index)
      return index
    })
  }

  /** Applies one change to the index, when there is one to change (otherwise the next listing rebuilds it). */
  private async updateIndex(change: (index: HistoryIndex) => void): Promise<void> {
    await this.exclusive(async () => {
      const index = await this.readIndex()
      if (!index) return
      const copy: HistoryIndex = { ...index, items: [...index.items], skipped: [...index.skipped] }
      change(copy)
      await this.writeIndex(copy)
    })
  }

  async save(payload: GenerationPayload): Promise<void> {
    const { png, rgb: _rgb, record, sourcePng, ...rest } = payload
    const meta: StoredMeta = { ...rest, format: 'daam-history/1', hasRecord: record !== null }
    const thumb = await sharp(png).resize(THUMB, THUMB, { fit: 'inside' }).png().toBuffer()
    try {
      await fs.mkdir(this.dir, { recursive: true })
      await writeDirAtomic(this.entryDir(payload.id), async (tmp) => {
        await fs.writeFile(path.join(tmp, 'image.png'), png)
        await fs.writeFile(path.join(tmp, 'thumb.png'), thumb)
        if (record) await fs.writeFile(path.join(tmp, 'record.bin'), record)
        // an attributed image keeps a preview of the picture it came from
        if (sourcePng) await fs.writeFile(path.join(tmp, 'source.png'), sourcePng)
        // meta.json last: its presence marks a complete entry even on file systems without atomic rename
        await fs.writeFile(path.join(tmp, 'meta.json'), `${JSON.stringify(meta, null, 1)}\n`)
      })
    } catch (error) {
      throw new AppError('history-write', describeFsError(error, 'save this generation to the history'))
    }
    await this.updateIndex((index) => {
      index.items = [indexItem(meta), ...index.items.filter((i) => i.id !== meta.id)].sort(newestFirst)
    })
  }

  /** One page of the history, newest first (default: the newest HISTORY_PAGE_DEFAULT entries). */
  async list(page?: HistoryPage): Promise<HistoryList> {
    const { offset, limit } = historyPageSchema.parse(page ?? {})
    let names: string[]
    try {
      names = (await fs.readdir(this.dir)).filter((n) => ID_RE.test(n))
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { items: [], skipped: [], offset, total: 0 }
      throw new AppError('history-read', describeFsError(error, 'read the history folder'))
    }
    const index = await this.reconcile(names)
    const items: HistoryItem[] = []
    const skipped = [...index.skipped]
    for (const item of index.items.slice(offset, offset + limit)) {
      try {
        const thumbnail = new Uint8Array(await fs.readFile(path.join(this.dir, item.id, 'thumb.png')))
        items.push({ ...item, thumbnail })
      } catch (error) {
        skipped.push({ id: item.id, reason: describeFsError(error, 'read thumb.png') })
      }
    }
    return { items, skipped, offset, total: index.items.length }
  }

  async get(id: string): Promise<GenerationPayload> {
    const dir = this.entryDir(id)
    try {
      const meta = parseMeta(await fs.readFile(path.join(dir, 'meta.json'), 'utf8'), id)
      const png = new Uint8Array(await fs.readFile(path.join(dir, 'image.png')))
      const { data, info } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true })
      if (info.width !== meta.width || info.height !== meta.height)
        throw new Error('image.png does not match meta.json')
      let record: Uint8Array | null = null
      if (meta.hasRecord) {
        record = new Uint8Array(await fs.readFile(path.join(dir, 'record.bin')))
        deserializeRecord(record) // throws on a truncated or corrupt record
      }
      const { format: _f, hasRecord: _h, ...rest } = meta
      // entries written before layer descriptors were stored get them from the record
      const layers =
        rest.layers ??
        (record ? deserializeRecord(record).layers.map(({ index, name, block }) => ({ index, name, block })) : [])
      const knockouts = await this.readKnockouts(dir, meta.width, meta.height)
      const sourcePng = rest.attributed
        ? await fs.readFile(path.join(dir, 'source.png')).then(
            (b) => new Uint8Array(b),
            () => undefined, // the source preview is a nicety: the entry works without it
          )
        : undefined
      return {
        ...rest,
        layers,
        png,
        rgb: new Uint8Array(data),
        record,
        ...(knockouts ? { knockouts } : {}),
        ...(sourcePng ? { sourcePng } : {}),
      }
    } catch (error) {
      if (error instanceof AppError) throw error
      const fsError = error as NodeJS.ErrnoException
      // No meta.json: no entry (it is written last). Any other file gone: an entry, broken.
      if (fsError.code === 'ENOENT' && (!fsError.path || path.basename(fsError.path) === 'meta.json'))
        throw new AppError('not-found', `History entry ${id} is missing or incomplete.`)
      if (fsError.code === 'ENOENT')
        throw new AppError('history-corrupt', `History entry ${id} lacks ${path.basename(fsError.path!)}.`)
      // The disk refused (permissions, I/O, links): the entry may be fine, reading it failed.
      if (fsError.syscall) throw new AppError('history-read', describeFsError(error, `read history entry ${id}`))
      throw new AppError(
        'history-corrupt',
        `History entry ${id} cannot be read: ${error instanceof Error ? error.message : String(error)}`,
      )
    }
  }

  /**
   * Keeps a generation's knock-outs (issue 17) in its entry: knockout-<i>.png (the knocked-out
   * image), knockout-<i>.change.bin (the change map's bytes) and knockouts.json (the figures),
   * written last and atomically, so a reader sees the old set or the new one, never half.
   */
  async saveKnockouts(id: string, entries: readonly KnockoutEntry[]): Promise<void> {
    const dir = this.entryDir(id)
    try {
      await fs.access(path.join(dir, 'meta.json'))
    } catch {
      throw new AppError('not-found', `History entry ${id} is missing or incomplete.`)
    }
    try {
      const figures = []
      for (const [i, e] of entries.entries()) {
        await writeFileAtomic(path.join(dir, `knockout-${i}.png`), e.png)
        await writeFileAtomic(path.join(dir, `knockout-${i}.change.bin`), e.change)
        const { png: _p, change: _c, ...rest } = e
        figures.push(rest)
      }
      await writeFileAtomic(path.join(dir, KNOCKOUTS), JSON.stringify({ format: 'daam-knockouts/1', entries: figures }))
    } catch (error) {
      throw new AppError('history-write', describeFsError(error, 'save the knock-outs to the history'))
    }
  }

  /** The knock-outs kept with an entry; none when it has none, or when they cannot be read (said in `skipped`). */
  private async readKnockouts(dir: string, width: number, height: number): Promise<KnockoutEntry[] | undefined> {
    let text: string
    try {
      text = await fs.readFile(path.join(dir, KNOCKOUTS), 'utf8')
    } catch {
      return undefined
    }
    const parsed = knockoutsFileSchema.parse(JSON.parse(text))
    const out: KnockoutEntry[] = []
    for (const [i, f] of parsed.entries.entries()) {
      const png = new Uint8Array(await fs.readFile(path.join(dir, `knockout-${i}.png`)))
      const change = new Uint8Array(await fs.readFile(path.join(dir, `knockout-${i}.change.bin`)))
      if (f.width !== width || f.height !== height || change.length !== width * height) {
        throw new Error(`knock-out ${i} does not match the image size`)
      }
      out.push({ ...f, png, change })
    }
    return out
  }

  async delete(id: string): Promise<boolean> {
    const dir = this.entryDir(id)
    try {
      await fs.access(dir)
    } catch {
      return false
    }
    try {
      await fs.rm(dir, { recursive: true })
    } catch (error) {
      throw new AppError('history-write', describeFsError(error, `delete history entry ${id}`))
    }
    await this.updateIndex((index) => {
      index.items = index.items.filter((i) => i.id !== id)
      index.skipped = index.skipped.filter((s) => s.id !== id)
    })
    return true
  }
}
