/**
 * Every generation on disk under `<userData>/history/<id>/`: image.png, thumb.png, record.bin
 * (the serialised attention record, when there is one) and meta.json (parameters, words, model).
 * An entry is written into a temporary folder and renamed into place, so a crash, a full disk
 * or a read-only folder never leaves half an entry and never touches entries already saved.
 * Reading is defensive: an unreadable entry is reported and skipped, never a crash.
 */
import { randomBytes } from 'node:crypto'
import fs from 'node:fs/promises'
import path from 'node:path'
import sharp from 'sharp'
import { deserializeRecord } from '../../shared/attention-record'
import { AppError } from '../../shared/ipc/result'
import type { GenerationPayload, HistoryItem, HistoryList } from '../../shared/ipc/payloads'
import { describeFsError, writeDirAtomic } from './atomic'

/** What meta.json holds: the payload without its binary parts. */
export type StoredMeta = Omit<GenerationPayload, 'png' | 'rgb' | 'record'> & {
  format: 'daam-history/1'
  hasRecord: boolean
}

const ID_RE = /^[0-9A-Za-z-]{8,64}$/
const THUMB = 96

/** Sortable, unique id: UTC time to the millisecond, then random hex. */
export function newGenerationId(now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').replace('.', '-').replace('Z', '')
  return `${stamp}-${randomBytes(3).toString('hex')}`
}

function parseMeta(text: string): StoredMeta {
  const meta = JSON.parse(text) as Partial<StoredMeta>
  if (meta.format !== 'daam-history/1') throw new Error('meta.json has an unknown format')
  if (
    typeof meta.id !== 'string' ||
    !meta.params ||
    typeof meta.width !== 'number' ||
    typeof meta.height !== 'number' ||
    !Array.isArray(meta.words)
  ) {
    throw new Error('meta.json lacks required fields')
  }
  return meta as StoredMeta
}

export class HistoryStore {
  constructor(readonly dir: string) {}

  private entryDir(id: string): string {
    if (!ID_RE.test(id)) throw new AppError('invalid-request', `Not a history id: ${id}`)
    return path.join(this.dir, id)
  }

  async save(payload: GenerationPayload): Promise<void> {
    const { png, rgb: _rgb, record, ...rest } = payload
    const meta: StoredMeta = { ...rest, format: 'daam-history/1', hasRecord: record !== null }
    const thumb = await sharp(png).resize(THUMB, THUMB, { fit: 'inside' }).png().toBuffer()
    try {
      await fs.mkdir(this.dir, { recursive: true })
      await writeDirAtomic(this.entryDir(payload.id), async (tmp) => {
        await fs.writeFile(path.join(tmp, 'image.png'), png)
        await fs.writeFile(path.join(tmp, 'thumb.png'), thumb)
        if (record) await fs.writeFile(path.join(tmp, 'record.bin'), record)
        // meta.json last: its presence marks a complete entry even on file systems without atomic rename
        await fs.writeFile(path.join(tmp, 'meta.json'), `${JSON.stringify(meta, null, 1)}\n`)
      })
    } catch (error) {
      throw new AppError('history-write', describeFsError(error, 'save this generation to the history'))
    }
  }

  async list(): Promise<HistoryList> {
    let names: string[]
    try {
      names = await fs.readdir(this.dir)
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { items: [], skipped: [] }
      throw new AppError('history-read', describeFsError(error, 'read the history folder'))
    }
    const items: HistoryItem[] = []
    const skipped: HistoryList['skipped'] = []
    for (const id of names
      .filter((n) => ID_RE.test(n))
      .sort()
      .reverse()) {
      const dir = path.join(this.dir, id)
      try {
        const meta = parseMeta(await fs.readFile(path.join(dir, 'meta.json'), 'utf8'))
        const thumbnail = new Uint8Array(await fs.readFile(path.join(dir, 'thumb.png')))
        const p = meta.params
        items.push({
          id,
          createdAt: meta.createdAt,
          prompt: p.prompt,
          seed: p.seed,
          steps: p.steps,
          width: meta.width,
          height: meta.height,
          model: meta.model.name,
          thumbnail,
        })
      } catch (error) {
        skipped.push({ id, reason: error instanceof Error ? error.message : String(error) })
      }
    }
    return { items, skipped }
  }

  async get(id: string): Promise<GenerationPayload> {
    const dir = this.entryDir(id)
    try {
      const meta = parseMeta(await fs.readFile(path.join(dir, 'meta.json'), 'utf8'))
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
      return { ...rest, layers, png, rgb: new Uint8Array(data), record }
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

  async delete(id: string): Promise<boolean> {
    const dir = this.entryDir(id)
    try {
      await fs.access(dir)
    } catch {
      return false
    }
    try {
      await fs.rm(dir, { recursive: true })
      return true
    } catch (error) {
      throw new AppError('history-write', describeFsError(error, `delete history entry ${id}`))
    }
  }
}
