/** The history store on its own: atomic entries, restart-safe reads, corrupt entries, failures. */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import sharp from 'sharp'
import fsp from 'node:fs/promises'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { writeDirAtomic, writeFileAtomic } from './atomic'
import { HistoryStore, newGenerationId } from './store'
import { serializeRecord, type AttentionRecord } from '../../shared/attention-record'
import { toHalf } from '../../shared/float16'
import { channels } from '../../shared/ipc/contract'
import type { GenerationPayload } from '../../shared/ipc/payloads'
import { AppError } from '../../shared/ipc/result'

const W = 16
const H = 8

/** A 2-step, 1-layer record over 4 tokens with distinct values, and an image of matching size. */
async function payload(id: string, prompt = 'a red hat'): Promise<GenerationPayload> {
  const layer = {
    index: 0,
    name: 'up_blocks.1/attn2',
    block: 'up' as const,
    blockIndex: 1,
    height: 2,
    width: 4,
    bucketSize: 1,
  }
  const data = new Uint16Array(2 * 4 * 8).map((_, i) => toHalf(i / 64))
  const record: AttentionRecord = {
    steps: 2,
    timesteps: [999, 499],
    latentHeight: 2,
    latentWidth: 4,
    layers: [layer],
    cond: { name: 'cond', tokens: 4, data: [data] },
  }
  const rgb = new Uint8Array(W * H * 3).map((_, i) => (i * 7) % 256)
  const png = await sharp(rgb, { raw: { width: W, height: H, channels: 3 } })
    .png()
    .toBuffer()
  return {
    id,
    createdAt: new Date().toISOString(),
    params: { prompt, negativePrompt: '', seed: 7, steps: 2, guidance: 7.5, scheduler: 'ddim', width: W, height: H },
    model: { name: 'tiny', dir: '/models/tiny' },
    provider: 'cpu',
    width: W,
    height: H,
    png: new Uint8Array(png),
    rgb,
    record: serializeRecord(record),
    layers: [{ index: 0, name: layer.name, block: layer.block }],
    words: [
      { index: 0, text: 'a', start: 0, end: 1, tokenIndices: [1] },
      { index: 1, text: 'red', start: 2, end: 5, tokenIndices: [2] },
    ],
    negativeWords: [],
    droppedWords: [],
    timings: { totalMs: 1, denoiseMs: 1, stepMs: 0.5 },
    history: { saved: false },
  }
}

let dir: string
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'daam-history-'))
})
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }))

describe('HistoryStore', () => {
  it('ids sort by time and pass the contract schema', () => {
    const a = newGenerationId(new Date('2026-01-01T00:00:00.000Z'))
    const b = newGenerationId(new Date('2026-01-01T00:00:00.001Z'))
    expect(a < b).toBe(true)
    expect(channels['history:get'].request.safeParse({ id: a }).success).toBe(true)
    expect(channels['history:get'].request.safeParse({ id: '../etc' }).success).toBe(false)
  })

  it('round-trips an entry through a new store (a restart)', async () => {
    const p = await payload(newGenerationId())
    await new HistoryStore(dir).save(p)
    const again = new HistoryStore(dir)
    const list = await again.list()
    expect(list.items).toHaveLength(1)
    expect(list.items[0]).toMatchObject({ id: p.id, prompt: 'a red hat', seed: 7, width: W, height: H })
    const got = await again.get(p.id)
    expect(Buffer.from(got.rgb).equals(Buffer.from(p.rgb))).toBe(true)
    expect(Buffer.from(got.record!).equals(Buffer.from(p.record!))).toBe(true)
    expect(got.words).toEqual(p.words)
    expect(fs.readdirSync(dir).filter((n) => n.startsWith('.'))).toEqual([]) // no temp folders left
  })

  it('lists newest first and deletes files', async () => {
    const store = new HistoryStore(dir)
    const older = await payload(newGenerationId(new Date('2026-01-01T00:00:00Z')), 'older')
    const newer = await payload(newGenerationId(new Date('2026-01-02T00:00:00Z')), 'newer')
    await store.save(older)
    await store.save(newer)
    expect((await store.list()).items.map((i) => i.prompt)).toEqual(['newer', 'older'])
    expect(await store.delete(newer.id)).toBe(true)
    expect(fs.existsSync(path.join(dir, newer.id))).toBe(false)
    expect(await store.delete(newer.id)).toBe(false)
    expect((await store.list()).items.map((i) => i.prompt)).toEqual(['older'])
  })

  it('skips unreadable entries with a reason and reports a corrupt record on open', async () => {
    const store = new HistoryStore(dir)
    const good = await payload(newGenerationId(new Date('2026-01-01T00:00:00Z')))
    const bad = await payload(newGenerationId(new Date('2026-01-02T00:00:00Z')))
    await store.save(good)
    await store.save(bad)
    fs.writeFileSync(path.join(dir, bad.id, 'meta.json'), '{"format": "daam-history/1", "id": ')
    const list = await store.list()
    expect(list.items.map((i) => i.id)).toEqual([good.id])
    expect(list.skipped).toEqual([{ id: bad.id, reason: expect.stringMatching(/JSON/) }])

    const rec = path.join(dir, good.id, 'record.bin')
    fs.writeFileSync(rec, fs.readFileSync(rec).subarray(0, 40))
    await expect(store.get(good.id)).rejects.toMatchObject({ code: 'history-corrupt' })
  })

  it('a folder it cannot write to gives a clear error and leaves saved entries intact', async () => {
    const store = new HistoryStore(dir)
    const kept = await payload(newGenerationId())
    await store.save(kept)
    // Root ignores permission bits, so make the entry's folder impossible instead: a file sits at its path.
    const next = await payload(newGenerationId(new Date(Date.now() + 1000)))
    fs.writeFileSync(path.join(dir, next.id), 'in the way')
    const error = await store.save(next).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(AppError)
    expect((error as AppError).code).toBe('history-write')
    expect((error as AppError).message).toMatch(/^Could not save this generation to the history: /)
    expect((await store.get(kept.id)).id).toBe(kept.id)
    expect(fs.readdirSync(dir).filter((n) => n.startsWith('.'))).toEqual([])
  })
})

describe('HistoryStore validates meta.json with the IPC schemas', () => {
  it('an entry whose meta.json is valid JSON but lacks fields is skipped with a reason, and get refuses it', async () => {
    const store = new HistoryStore(dir)
    const good = await payload(newGenerationId(new Date('2026-01-01T00:00:00Z')))
    const bad = await payload(newGenerationId(new Date('2026-01-02T00:00:00Z')))
    const badWords = await payload(newGenerationId(new Date('2026-01-03T00:00:00Z')))
    await store.save(good)
    await store.save(bad)
    await store.save(badWords)
    const metaPath = (id: string) => path.join(dir, id, 'meta.json')
    const meta = JSON.parse(fs.readFileSync(metaPath(bad.id), 'utf8'))
    delete meta.params.prompt
    delete meta.model
    fs.writeFileSync(metaPath(bad.id), JSON.stringify(meta))
    const meta2 = JSON.parse(fs.readFileSync(metaPath(badWords.id), 'utf8'))
    meta2.words = [{ index: 0, text: 'a' }] // no offsets, no token positions
    fs.writeFileSync(metaPath(badWords.id), JSON.stringify(meta2))
    // a fresh store (a restart): the entries were edited behind the index's back
    fs.rmSync(path.join(dir, 'index.json'), { force: true })
    const fresh = new HistoryStore(dir)
    const list = await fresh.list()
    expect(list.items.map((i) => i.id)).toEqual([good.id])
    expect(list.skipped).toEqual([
      { id: badWords.id, reason: expect.stringMatching(/words\.0\.start/) },
      { id: bad.id, reason: expect.stringMatching(/params\.prompt|model/) },
    ])
    for (const id of [bad.id, badWords.id]) {
      const error = await fresh.get(id).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(AppError)
      expect((error as AppError).code).toBe('history-corrupt')
      expect((error as AppError).message).toMatch(new RegExp(`History entry ${id} cannot be read: meta\\.json`))
    }
    expect((await fresh.get(good.id)).params.prompt).toBe('a red hat')

    // repaired by hand: listed again at the next refresh, without rebuilding the index
    fs.writeFileSync(
      metaPath(bad.id),
      JSON.stringify({ ...meta, params: { ...meta.params, prompt: 'fixed' }, model: { name: 'tiny', dir: '/m' } }),
    )
    const again = await fresh.list()
    expect(again.items.map((i) => i.prompt)).toEqual(['fixed', 'a red hat'])
    expect(again.skipped.map((s) => s.id)).toEqual([badWords.id])
  })

  it('a meta.json with out-of-range values (the IPC bounds) is skipped', async () => {
    const store = new HistoryStore(dir)
    const p = await payload(newGenerationId())
    await store.save(p)
    const metaPath = path.join(dir, p.id, 'meta.json')
    const meta = JSON.parse(fs.readFileSync(metaPath, 'utf8'))
    meta.params.steps = -3
    fs.writeFileSync(metaPath, JSON.stringify(meta))
    fs.rmSync(path.join(dir, 'index.json'), { force: true })
    const list = await new HistoryStore(dir).list()
    expect(list.items).toEqual([])
    expect(list.skipped).toEqual([{ id: p.id, reason: expect.stringMatching(/params\.steps/) }])
  })
})

describe('HistoryStore lists 2,001 entries without re-reading them', () => {
  it('a refresh reads O(1) files and pages the list', { timeout: 120_000 }, async () => {
    const store = new HistoryStore(dir)
    const first = await payload(newGenerationId(new Date('2026-01-01T00:00:00.000Z')), 'entry 0')
    await store.save(first)
    const src = path.join(dir, first.id)
    const meta = JSON.parse(fs.readFileSync(path.join(src, 'meta.json'), 'utf8'))
    const ids = [first.id]
    // 2,000 more entries on disk, written as the store writes them (copies, new ids and prompts)
    for (let i = 1; i <= 2000; i++) {
      const id = newGenerationId(new Date(Date.parse('2026-01-01T00:00:00.000Z') + i))
      const d = path.join(dir, id)
      fs.mkdirSync(d)
      for (const f of ['image.png', 'thumb.png', 'record.bin']) fs.copyFileSync(path.join(src, f), path.join(d, f))
      fs.writeFileSync(
        path.join(d, 'meta.json'),
        JSON.stringify({ ...meta, id, params: { ...meta.params, prompt: `entry ${i}` } }),
      )
      ids.push(id)
    }
    const reopened = new HistoryStore(dir)
    const all = []
    for (let offset = 0; offset < 2001; offset += 500) {
      const page = await reopened.list({ offset, limit: 500 }) // the first listing (re)builds the index
      expect(page.total).toBe(2001)
      all.push(...page.items)
    }
    expect(all).toHaveLength(2001)
    expect(all[0].prompt).toBe('entry 2000')
    expect(all[2000].prompt).toBe('entry 0')

    const readFile = vi.spyOn(fsp, 'readFile')
    const open = vi.spyOn(fsp, 'open')
    try {
      for (const store2 of [reopened, new HistoryStore(dir)]) {
        readFile.mockClear()
        open.mockClear()
        const page = await store2.list()
        expect(page.total).toBe(2001)
        expect(page.items.length).toBeGreaterThan(0)
        expect(page.items.length).toBeLessThanOrEqual(100)
        expect(page.items[0].prompt).toBe('entry 2000')
        // the index plus one thumbnail per shown item, whatever the history's size
        expect(readFile.mock.calls.length).toBeGreaterThanOrEqual(page.items.length) // the spy sees the reads
        expect(readFile.mock.calls.length + open.mock.calls.length).toBeLessThanOrEqual(page.items.length + 2)
      }
      readFile.mockClear()
      const second = await reopened.list({ offset: 100, limit: 10 })
      expect(second.items.map((i) => i.prompt)).toEqual(Array.from({ length: 10 }, (_, k) => `entry ${1900 - k}`))
      expect(readFile.mock.calls.length).toBeLessThanOrEqual(12)
    } finally {
      readFile.mockRestore()
      open.mockRestore()
    }

    // save and delete keep the index current; an entry removed behind its back disappears
    const added = await payload(newGenerationId(new Date('2026-02-01T00:00:00Z')), 'added')
    await reopened.save(added)
    expect(await reopened.delete(ids[2000])).toBe(true)
    fs.rmSync(path.join(dir, ids[1999]), { recursive: true })
    const after = await new HistoryStore(dir).list({ offset: 0, limit: 3 })
    expect(after.total).toBe(2000)
    expect(after.items.map((i) => i.prompt)).toEqual(['added', 'entry 1998', 'entry 1997'])
  })
})

describe('atomic writes', () => {
  it('replace a file whole and leave no temp file', async () => {
    const f = path.join(dir, 'settings.json')
    await writeFileAtomic(f, 'one')
    await writeFileAtomic(f, 'two')
    expect(fs.readFileSync(f, 'utf8')).toBe('two')
    expect(fs.readdirSync(dir)).toEqual(['settings.json'])
  })

  it('a folder whose filling fails never appears', async () => {
    const target = path.join(dir, 'entry')
    await expect(
      writeDirAtomic(target, async (tmp) => {
        fs.writeFileSync(path.join(tmp, 'image.png'), 'x')
        throw new Error('disk full')
      }),
    ).rejects.toThrow('disk full')
    expect(fs.readdirSync(dir)).toEqual([])
  })
})
