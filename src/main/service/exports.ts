/**
 * Files the user saves from a generation: one overlay PNG (the screen's overlay, composed by the
 * same shared function the renderer draws with), a folder with every word, or the raw maps.
 */
import fs from 'node:fs/promises'
import path from 'node:path'
import sharp from 'sharp'
import { exportHeatmaps, exportRawRecord } from '../attention/export'
import { insertPngText } from '../png-text'
import { deserializeRecord, type AttentionRecord } from '../../shared/attention-record'
import { Heatmaps } from '../../shared/heatmap/heatmaps'
import type { ImageBytes } from '../../shared/heatmap/compose'
import { writeNpy } from '../../shared/npy'
import { AppError } from '../../shared/ipc/result'
import { renderOverlay, specFilter, type OverlaySpec } from '../../shared/ipc/overlay'
import type { GenerationPayload } from '../../shared/ipc/payloads'
import { describeFsError, writeFileAtomic } from '../history/atomic'
import { mergedWordSpecs } from '../../shared/heatmap/prompt-words'

/** A generation ready for drawing: decoded record and image. */
export interface Drawable {
  payload: GenerationPayload
  record: AttentionRecord
  image: ImageBytes
  heatmaps: Heatmaps
}

export function drawable(payload: GenerationPayload): Drawable {
  if (!payload.record)
    throw new AppError('no-maps', payload.attentionWarning ?? 'This generation has no attention record.')
  const record = deserializeRecord(payload.record)
  const image: ImageBytes = { data: payload.rgb, width: payload.width, height: payload.height, channels: 3 }
  return { payload, record, image, heatmaps: new Heatmaps(record, payload.width, payload.height) }
}

/** File-name-safe stem from words. */
export function fileStem(text: string): string {
  return (
    text
      .normalize('NFKD')
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 60) || 'overlay'
  )
}

function baseMeta(p: GenerationPayload): Record<string, string> {
  return {
    prompt: p.params.prompt,
    ...(p.params.negativePrompt ? { negative_prompt: p.params.negativePrompt } : {}),
    seed: String(p.params.seed),
    steps: String(p.params.steps),
    guidance: String(p.params.guidance),
    scheduler: p.params.scheduler,
    model: p.model.name,
    Software: 'DAAM Studio',
  }
}

/** The overlay PNG bytes for a spec (RGB, with the generation and overlay settings as text chunks). */
export async function overlayPng(d: Drawable, spec: OverlaySpec): Promise<Buffer> {
  const rgba = renderOverlay(d.heatmaps, d.image, spec)
  const png = await sharp(Buffer.from(rgba.buffer, rgba.byteOffset, rgba.byteLength), {
    raw: { width: d.image.width, height: d.image.height, channels: 4 },
  })
    .removeAlpha()
    .png()
    .toBuffer()
  return insertPngText(png, {
    ...baseMeta(d.payload),
    words: spec.words.map((w) => w.label).join(', '),
    stream: spec.stream,
    overlay: JSON.stringify({
      mode: spec.mode,
      colormap: spec.colormap,
      opacity: spec.opacity,
      tau: spec.tau,
      normalization: spec.normalization,
      filter: spec.filter,
    }),
  })
}

export async function writeOverlay(file: string, d: Drawable, spec: OverlaySpec): Promise<void> {
  const png = await overlayPng(d, spec)
  try {
    await writeFileAtomic(file, png)
  } catch (error) {
    throw new AppError('save-failed', describeFsError(error, `save ${file}`))
  }
}

/** Every word's overlay, the grid, composite, .npy maps, raw record and meta.json into `dir`. */
export async function writeAllWords(dir: string, d: Drawable, spec: OverlaySpec): Promise<void> {
  const p = d.payload
  const words = mergedWordSpecs(p.words)
  const negativeWords = d.record.uncond ? mergedWordSpecs(p.negativeWords) : []
  try {
    const result = await exportHeatmaps({
      outDir: dir,
      image: d.image,
      record: d.record,
      words,
      negativeWords,
      meta: {
        prompt: p.params.prompt,
        negativePrompt: p.params.negativePrompt,
        seed: p.params.seed,
        steps: p.params.steps,
        model: p.model.name,
      },
      filter: specFilter(spec),
      normalization: spec.normalization,
      colormap: spec.colormap,
      opacity: spec.opacity,
      mode: spec.mode,
      tau: spec.tau,
    })
    await fs.writeFile(path.join(dir, 'image.png'), p.png)
    await fs.writeFile(
      path.join(dir, 'meta.json'),
      `${JSON.stringify({ format: 'daam-studio-export/1', id: p.id, createdAt: p.createdAt, params: p.params, model: p.model, provider: p.provider, overlay: { ...spec, words: undefined }, words: result.words, grid: result.grid, heatmaps: result.index, approximate: result.approximate }, null, 2)}\n`,
    )
  } catch (error) {
    if (error instanceof AppError) throw error
    throw new AppError('save-failed', describeFsError(error, `write the overlays into ${dir}`))
  }
}

/** Word maps as float32 .npy [H, W] (current filters and normalisation) plus the raw record. */
export async function writeMaps(dir: string, d: Drawable, spec: OverlaySpec): Promise<void> {
  const p = d.payload
  const words = mergedWordSpecs(p.words)
  try {
    await fs.mkdir(dir, { recursive: true })
    const maps = d.heatmaps.wordMaps(words, { filter: specFilter(spec), normalization: spec.normalization })
    const index: { word: string; tokenIndices: number[]; file: string }[] = []
    const used = new Set<string>()
    for (let i = 0; i < words.length; i++) {
      let stem = fileStem(words[i]!.label)
      while (used.has(stem)) stem += '_'
      used.add(stem)
      const file = `${stem}.npy`
      await fs.writeFile(path.join(dir, file), writeNpy(maps.maps[i]!, [p.height, p.width], 'float32'))
      index.push({ word: words[i]!.label, tokenIndices: [...words[i]!.tokens], file })
    }
    const raw = await exportRawRecord(path.join(dir, 'raw'), d.record)
    await fs.writeFile(
      path.join(dir, 'maps.json'),
      `${JSON.stringify({ format: 'daam-studio-maps/1', width: p.width, height: p.height, normalization: spec.normalization, filter: spec.filter, layers: maps.tokenMaps.layers, steps: maps.tokenMaps.steps, npyLayout: 'float32 [height, width] in [0, 1]', params: p.params, model: p.model, words: index, raw: path.relative(dir, raw) }, null, 2)}\n`,
    )
  } catch (error) {
    if (error instanceof AppError) throw error
    throw new AppError('save-failed', describeFsError(error, `export the maps into ${dir}`))
  }
}
