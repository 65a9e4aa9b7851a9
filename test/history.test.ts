/** The history store on its own: atomic entries, restart-safe reads, corrupt entries, failures. */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import sharp from 'sharp'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { writeDirAtomic, writeFileAtomic } from '../src/main/history/atomic'
import { HistoryStore, newGenerationId } from '../src/main/history/store'
import { serializeRecord, type AttentionRecord } from '../src/shared/attention-record'
import { toHalf } from '../src/shared/float16'
import { channels } from '../src/shared/ipc/contract'
import type { GenerationPayload } from '../src/shared/ipc/payloads'
import { AppError } from '../src/shared/ipc/result'

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
