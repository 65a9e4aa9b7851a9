/**
 * Attribution through the app's service and engine worker on the bundled model: an existing image
 * (with alpha, off the model's aspect) becomes an "attributed image" entry with chips, maps, the
 * crop, a source preview, and a history entry that restores all of it; Save all words works on it;
 * unusable files and an empty caption get clear errors and leave the history alone.
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import sharp from 'sharp'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { AppService } from '../src/main/service'
import { deserializeRecord } from '../src/shared/attention-record'
import { DEFAULT_OVERLAY } from '../src/shared/heatmap/overlay'
import type { OverlaySpec } from '../src/shared/ipc/overlay'
import { AppError } from '../src/shared/ipc/result'

const MODELS = path.resolve(__dirname, '..', 'models')

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p
    return 'resolved'
  } catch (e) {
    return e instanceof AppError ? `${e.code}: ${e.message}` : `threw ${String(e)}`
  }
}

describe('AppService.attribute', () => {
  let userData: string
  let service: AppService

  beforeAll(() => {
    userData = fs.mkdtempSync(path.join(os.tmpdir(), 'daam-attr-'))
    service = new AppService({
      modelsDir: MODELS,
      userDataDir: userData,
      threads: 1,
      dialogAnswers: { chooseFolder: path.join(userData, 'saved') },
    })
  })

  afterAll(async () => {
    await service.dispose()
    fs.rmSync(userData, { recursive: true, force: true })
  })

  it('attributes a wide RGBA image, keeps it in history with its crop and source, and saves all words', async () => {
    const g = await service.generate({ prompt: 'a red circle and a blue square', steps: 10, seed: 4 })
    // the generated image centred on a wider, half-transparent canvas
    const wide = await sharp(g.png)
      .ensureAlpha()
      .extend({ left: 64, right: 64, top: 0, bottom: 0, background: { r: 0, g: 0, b: 0, alpha: 0 } })
      .png()
      .toBuffer()
    const a = await service.attribute({
      image: new Uint8Array(wide),
      name: '/home/me/pics/wide.png',
      prompt: 'a red circle and a blue square',
    })
    expect(a.attributed).toMatchObject({
      sourceName: 'wide.png',
      source: { width: 256, height: 128, format: 'png', hasAlpha: true },
      crop: { left: 64, top: 0, width: 128, height: 128 },
      noise: { from: 0.1, to: 0.5 },
    })
    expect(Buffer.from(a.rgb).equals(Buffer.from(g.rgb))).toBe(true) // the crop is exactly the generated image
    expect(a.words.map((w) => w.text)).toEqual(g.words.map((w) => w.text))
    const record = deserializeRecord(a.record!)
    expect(record.steps).toBe(8)
    expect(record.timesteps).toEqual(a.attributed!.timesteps)
    const preview = await sharp(a.sourcePng!).metadata()
    expect([preview.width, preview.height]).toEqual([256, 128])

    const list = await service.listHistory()
    expect(list.items.find((i) => i.id === a.id)?.attributed).toBe(true)
    expect(list.items.find((i) => i.id === g.id)?.attributed).toBeUndefined()
    const restored = await service.getHistory(a.id)
    expect(restored.attributed).toEqual(a.attributed)
    expect(Buffer.from(restored.sourcePng!).equals(Buffer.from(a.sourcePng!))).toBe(true)
    expect(Buffer.from(restored.record!).equals(Buffer.from(a.record!))).toBe(true)

    const circle = a.words.find((w) => w.text === 'circle')!
    const spec: OverlaySpec = {
      ...DEFAULT_OVERLAY,
      words: [{ label: 'circle', tokens: circle.tokenIndices }],
      stream: 'cond',
    }
    const saved = await service.saveAllWords(a.id, spec)
    // the window's settings: fewer noise levels over another range
    const b = await service.attribute({
      image: new Uint8Array(wide),
      name: 'wide.png',
      prompt: 'a red circle',
      settings: { timesteps: 3, noise: { from: 0.2, to: 0.6 } },
    })
    expect(b.attributed).toMatchObject({ timesteps: [599, 400, 200], noise: { from: 0.2, to: 0.6 } })
    expect(deserializeRecord(b.record!).steps).toBe(3)
    expect(fs.readdirSync(saved.path!)).toEqual(
      expect.arrayContaining(['circle.overlay.png', 'circle.npy', 'meta.json']),
    )
  }, 120_000)

  it('refuses unusable images and an empty caption with clear messages, adding nothing to history', async () => {
    const before = (await service.listHistory()).total
    const one = await sharp({ create: { width: 1, height: 1, channels: 3, background: '#fff' } })
      .png()
      .toBuffer()
    expect(await code(service.attribute({ image: new Uint8Array(one), name: 'dot.png', prompt: 'a dot' }))).toBe(
      'invalid-image: dot.png: This image is 1×1 pixels: too small to attribute (at least 16 pixels a side).',
    )
    expect(
      await code(
        service.attribute({ image: new TextEncoder().encode('not an image'), name: 'notes.txt', prompt: 'a' }),
      ),
    ).toBe('invalid-image: notes.txt: This file is not a readable image: open a PNG, JPEG or WebP file.')
    const ok = await sharp({ create: { width: 64, height: 64, channels: 3, background: '#0f0' } })
      .png()
      .toBuffer()
    expect(await code(service.attribute({ image: new Uint8Array(ok), name: 'green.png', prompt: '   ' }))).toMatch(
      /^invalid-params: Type the image's caption/,
    )
    expect((await service.listHistory()).total).toBe(before)
  }, 60_000)
})
