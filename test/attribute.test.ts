/**
 * Attributing existing images on the bundled model: a generated image attributed from its PNG with
 * its prompt finds its objects about as well as the maps recorded while it was generated; guided
 * and conditional-only attribution record the same maps; unusable images get clear messages; a
 * model without a VAE encoder says so.
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import sharp from 'sharp'
import { describe, expect, it } from 'vitest'
import { colourMask } from '../scripts/colour-key'
import { ATTRIBUTE_DEFAULTS, attributeImage, attributionTimesteps, encodeImage } from '../src/main/attention/attribute'
import { loadTracedModel, traceGeneration } from '../src/main/attention/trace'
import { centreCrop, fitImage, MAX_INPUT_PIXELS } from '../src/main/engine/image-input'
import type { AttentionRecord } from '../src/shared/attention-record'
import { Heatmaps } from '../src/shared/heatmap/heatmaps'
import { iou, thresholdMask } from '../src/shared/heatmap/masks'
import { selectWordSpecs } from '../src/shared/heatmap/prompt-words'
import type { PromptEncoding } from '../src/shared/tokenizer'
import { BUNDLED, loadBundled } from './attention/bundled-model'

function mIoU(record: AttentionRecord, encoding: PromptEncoding, truths: { word: string; mask: Uint8Array }[]) {
  const { words } = selectWordSpecs(
    encoding,
    truths.map((t) => t.word),
  )
  const maps = new Heatmaps(record, 128, 128).wordMaps(words).maps
  return truths.reduce((s, t, i) => s + iou(thresholdMask(maps[i]!), t.mask), 0) / truths.length
}

describe('attributing an existing image', () => {
  it('maps a generated image, from its PNG and prompt, about as well as its generation did', async () => {
    const traced = await loadBundled()
    const prompt = 'an orange circle and a blue square'
    const g = await traceGeneration(traced, { prompt, seed: 5000, steps: 20, guidance: 5, scheduler: 'ddim' })
    const truths = [
      { word: 'circle', mask: colourMask(g.rgb, 'orange') },
      { word: 'square', mask: colourMask(g.rgb, 'blue') },
    ]
    expect(truths.every((t) => t.mask.some((v) => v))).toBe(true)
    const fitted = await fitImage(g.png, 128, 128)
    expect(fitted.crop).toEqual({ left: 0, top: 0, width: 128, height: 128 })
    expect(Buffer.from(fitted.rgb).equals(Buffer.from(g.rgb))).toBe(true) // PNG round trip, no resize
    const a = await attributeImage(traced, fitted, prompt)
    expect(a.record.steps).toBe(ATTRIBUTE_DEFAULTS.timesteps)
    expect(a.record.timesteps).toEqual(a.timesteps)
    const generated = mIoU(g.record!, g.encoding, truths)
    const attributed = mIoU(a.record, a.encoding, truths)
    expect(attributed).toBeGreaterThan(0.5)
    expect(attributed).toBeGreaterThan(generated - 0.15)

    // guided (batch 2 with the empty prompt) records the same prompt maps, at more cost
    const guided = await attributeImage(traced, fitted, prompt, { ...ATTRIBUTE_DEFAULTS, guided: true })
    const t1 = new Heatmaps(a.record, 128, 128).tokenMaps().data
    const t2 = new Heatmaps(guided.record, 128, 128).tokenMaps().data
    let diff = 0
    for (let i = 0; i < t1.length; i++) diff = Math.max(diff, Math.abs(t1[i]! - t2[i]!))
    expect(diff).toBeLessThan(1e-3)

    // a different caption moves the maps: "circle" now points at nothing orange-only
    const wrong = await attributeImage(traced, fitted, 'a blue circle and an orange square')
    expect(mIoU(wrong.record, wrong.encoding, truths)).toBeLessThan(attributed)
  }, 180_000)

  it('spreads timesteps over the noise range, noisiest first, and refuses bad settings', () => {
    expect(attributionTimesteps(1000, { timesteps: 3, noise: { from: 0.2, to: 0.8 } })).toEqual([799, 500, 200])
    expect(attributionTimesteps(1000, { timesteps: 1, noise: { from: 0.5, to: 0.5 } })).toEqual([500])
    expect(() => attributionTimesteps(1000, { timesteps: 0, noise: { from: 0, to: 1 } })).toThrow(/1..100/)
    expect(() => attributionTimesteps(1000, { timesteps: 4, noise: { from: 0.8, to: 0.2 } })).toThrow(/noise range/)
  })

  it('crops to the model aspect at the centre, and flattens alpha onto white', async () => {
    expect(centreCrop(300, 200, 128, 128)).toEqual({ left: 50, top: 0, width: 200, height: 200 })
    expect(centreCrop(100, 400, 128, 64)).toEqual({ left: 0, top: 175, width: 100, height: 50 })
    const half = await sharp({
      create: { width: 300, height: 200, channels: 4, background: { r: 255, g: 0, b: 0, alpha: 0 } },
    })
      .png()
      .toBuffer()
    const f = await fitImage(half, 128, 128)
    expect(f.source).toEqual({ width: 300, height: 200, format: 'png', hasAlpha: true })
    expect([...f.rgb.subarray(0, 3)]).toEqual([255, 255, 255]) // transparent -> white
  })

  it('refuses unusable files with a clear message, without decoding a huge one', async () => {
    const one = await sharp({ create: { width: 1, height: 1, channels: 3, background: '#fff' } })
      .png()
      .toBuffer()
    await expect(fitImage(one, 128, 128)).rejects.toThrow(/1×1 pixels: too small to attribute/)
    await expect(fitImage(Buffer.from('hello, not an image'), 128, 128)).rejects.toThrow(/not a readable image/)
    const jpeg = await sharp({ create: { width: 64, height: 64, channels: 3, background: '#0f0' } })
      .jpeg()
      .toBuffer()
    await expect(fitImage(jpeg.subarray(0, 200), 128, 128)).rejects.toThrow(/JPEG file is damaged or truncated/)
    const gif = await sharp({ create: { width: 32, height: 32, channels: 3, background: '#0f0' } })
      .gif()
      .toBuffer()
    await expect(fitImage(gif, 128, 128)).rejects.toThrow(/GIF images are not supported/)
    // a PNG whose header says 20000x20000 (its pixels would take 1.6 GB): refused from the header alone
    const png = Buffer.from(
      await sharp({ create: { width: 16, height: 16, channels: 3, background: '#00f' } })
        .png()
        .toBuffer(),
    )
    png.writeUInt32BE(20000, 16)
    png.writeUInt32BE(20000, 20)
    const { crc32 } = await import('node:zlib')
    png.writeUInt32BE(crc32(png.subarray(12, 29)) >>> 0, 29)
    const rss = process.memoryUsage().rss
    await expect(fitImage(png, 128, 128)).rejects.toThrow(/20000×20000 pixels \(400 megapixels\): too large/)
    expect(process.memoryUsage().rss - rss).toBeLessThan(100 * 2 ** 20)
    expect(MAX_INPUT_PIXELS).toBeLessThan(20000 * 20000)
    // a PNG cut after its header: readable size, undecodable pixels
    const good = await sharp({
      create: {
        width: 64,
        height: 64,
        channels: 3,
        background: '#000',
        noise: { type: 'gaussian', mean: 128, sigma: 40 },
      },
    })
      .png()
      .toBuffer()
    await expect(fitImage(good.subarray(0, 100), 128, 128)).rejects.toThrow(/could not be decoded|damaged or truncated/)
  })

  it('says when the model has no VAE encoder', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'no-encoder-'))
    for (const entry of fs.readdirSync(BUNDLED)) {
      if (entry !== 'vae_encoder') fs.symlinkSync(path.join(BUNDLED, entry), path.join(dir, entry))
    }
    const traced = await loadTracedModel(dir, { threads: 1 })
    try {
      const rgb = new Uint8Array(128 * 128 * 3)
      await expect(encodeImage(traced, rgb, 128, 128)).rejects.toThrow(
        /has no VAE encoder \(vae_encoder\/model.onnx\): it can generate images but not attribute an existing one/,
      )
    } finally {
      await traced.model.release()
      fs.rmSync(dir, { recursive: true, force: true })
    }
  }, 60_000)
})
