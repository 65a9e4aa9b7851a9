/**
 * The app's save commands, called by AppService (src/main/service/app-service.ts): "Save
 * overlay" (one PNG, the file the save dialog named), "Save time-lapse" (an animated WebP of the
 * first picked word, timelapse.ts), "Save all words" and "Export maps" (each a new
 * subfolder "<prompt>-<seed>-<id>" of the folder the user chose, see folder.ts). Every overlay pixel
 * comes from the shared composer, so files match the screen. Errors: 'no-maps' (nothing recorded),
 * 'invalid-request' (the spec does not fit this generation), 'save-failed' (the disk refused,
 * with the path and the reason).
 */
import { writeKnockoutFiles } from './knockout-files'
import fs from 'node:fs/promises'
import path from 'node:path'
import { deserializeRecord, type AttentionRecord } from '../../shared/attention-record'
import type { ImageBytes } from '../../shared/heatmap/compose'
import { Heatmaps } from '../../shared/heatmap/heatmaps'
import { specFilter, type OverlaySettings } from '../../shared/heatmap/overlay'
import type { OverlaySpec } from '../../shared/ipc/overlay'
import type { GenerationPayload } from '../../shared/ipc/payloads'
import { AppError } from '../../shared/ipc/result'
import { writeFileAtomic } from '../history/atomic'
import { mergedWordSpecs } from '../../shared/heatmap/prompt-words'
import { drawOverlay, fitting } from './draw'
import { generationFolderName, safeStem } from './file-names'
import { saveFailed, writeNewFolder } from './folder'
import { overlayText, type GenerationInfo } from './metadata'
import { encodeOverlayPng } from './png'
import { renderTimelapse } from './timelapse'
import { writeWordFiles } from './word-files'

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
  return { payload, record, image, heatmaps: new Heatmaps(record, payload.width, payload.height, image) }
}

/** File-name stem for words (the save dialog's default name), safe on every platform. */
export function fileStem(text: string): string {
  return safeStem(text, 'overlay')
}

function generationInfo(p: GenerationPayload): GenerationInfo {
  return {
    prompt: p.params.prompt,
    negativePrompt: p.params.negativePrompt || undefined,
    seed: p.params.seed,
    steps: p.params.steps,
    guidance: p.params.guidance,
    scheduler: p.params.scheduler,
    model: p.model.name,
    ...(p.params.weights ? { weights: p.params.weights } : {}),
  }
}

function settingsOf(spec: OverlaySpec): OverlaySettings {
  const { words: _words, stream: _stream, ...settings } = spec
  return settings
}

/** The overlay PNG bytes for a spec (RGB, with the generation and overlay settings as text). */
export async function overlayPng(d: Drawable, spec: OverlaySpec): Promise<Buffer> {
  const rgba = drawOverlay(d.heatmaps, d.image, spec)
  const used = d.heatmaps.tokenMaps(specFilter(spec), spec.stream) // cached by the draw
  return encodeOverlayPng(rgba, d.image.width, d.image.height, overlayText(generationInfo(d.payload), spec, used))
}

/** "Save overlay": the file the user named in the save dialog, replaced atomically. */
export async function writeOverlay(file: string, d: Drawable, spec: OverlaySpec): Promise<void> {
  const png = await overlayPng(d, spec)
  try {
    await writeFileAtomic(file, png)
  } catch (error) {
    throw saveFailed(error, `save ${file}`)
  }
}

/** "Save time-lapse": the spec's first word, with the spec's colour map, normalisation and layers. */
export async function writeTimelapse(file: string, d: Drawable, spec: OverlaySpec): Promise<void> {
  const word = spec.words[0]!
  // a spec that does not fit the record is refused with the overlay's message before any frame
  fitting(() => drawOverlay(d.heatmaps, d.image, { ...spec, words: [word] }))
  const t = await renderTimelapse({
    record: d.record,
    image: d.image,
    word,
    stream: spec.stream,
    settings: settingsOf(spec),
  })
  try {
    await writeFileAtomic(file, t.webp)
  } catch (error) {
    throw saveFailed(error, `save ${file}`)
  }
}

/**
 * "Save all words": a new subfolder of `dir` with every word's overlay and map, the grid, the
 * composite, the raw record, image.png and meta.json. Returns the subfolder's path.
 */
export async function writeAllWords(dir: string, d: Drawable, spec: OverlaySpec): Promise<string> {
  const p = d.payload
  const name = generationFolderName(p.params.prompt, p.params.seed, p.id)
  return writeNewFolder(dir, name, async (out) => {
    const settings = settingsOf(spec)
    const result = await writeWordFiles(out, {
      image: d.image,
      record: d.record,
      heatmaps: d.heatmaps,
      words: mergedWordSpecs(p.words),
      negativeWords: d.record.uncond ? mergedWordSpecs(p.negativeWords) : [],
      settings,
      generation: generationInfo(p),
      overlays: true,
    })
    await fs.writeFile(path.join(out, 'image.png'), p.png)
    const knockouts = await writeKnockoutFiles(out, p.knockouts ?? [], d.image, settings, generationInfo(p))
    const meta = {
      format: 'daam-studio-export/1',
      id: p.id,
      createdAt: p.createdAt,
      params: p.params,
      model: p.model,
      provider: p.provider,
      overlay: settings,
      words: result.words,
      grid: result.grid,
      composite: result.composite,
      heatmaps: result.index,
      raw: result.raw,
      approximate: result.approximate,
      ...(knockouts.length ? { knockouts } : {}),
    }
    await fs.writeFile(path.join(out, 'meta.json'), `${JSON.stringify(meta, null, 2)}\n`)
  })
}

/**
 * "Export maps": a new subfolder of `dir` with every word's map as float32 .npy [H, W] (current
 * filters and normalisation), the raw record and maps.json. Returns the subfolder's path.
 */
export async function writeMaps(dir: string, d: Drawable, spec: OverlaySpec): Promise<string> {
  const p = d.payload
  const name = `${generationFolderName(p.params.prompt, p.params.seed, p.id)}-maps`
  return writeNewFolder(dir, name, async (out) => {
    await writeWordFiles(out, {
      image: d.image,
      record: d.record,
      heatmaps: d.heatmaps,
      words: mergedWordSpecs(p.words),
      negativeWords: d.record.uncond ? mergedWordSpecs(p.negativeWords) : [],
      settings: settingsOf(spec),
      generation: { ...generationInfo(p), id: p.id, createdAt: p.createdAt, provider: p.provider },
      overlays: false,
      indexName: 'maps.json',
    })
  })
}
