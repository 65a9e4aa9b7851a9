/**
 * The time-lapse export: an animated WebP, one frame per denoising step, of the image (or, when the
 * caller has them, the live preview of that step; the last frame always shows the image) side by side with the word's heat map from steps
 * 1..k, and a counter strip "step k / S · word". Callers: AppService.saveTimelapse ("Save
 * time-lapse" in the window, through the save dialog; the final image stands on the left, since
 * history keeps no previews) and scripts/generate.ts (`--timelapse word`, with the previews of the
 * run on the left).
 *
 * Maps are drawn by the one overlay composer (heat-map mode at full opacity: the map itself, in the
 * chosen colour map and normalisation); frames are stacked into one raw image and encoded by sharp
 * as an animated WebP (raw input with pageHeight, one page per frame).
 */
import sharp, { type OverlayOptions } from 'sharp'
import type { AttentionRecord, StreamName } from '../../shared/attention-record'
import type { ImageBytes } from '../../shared/heatmap/compose'
import { Heatmaps } from '../../shared/heatmap/heatmaps'
import { enlargeRgb } from '../../shared/heatmap/live-frame'
import { renderOverlay, type OverlayScratch, type OverlaySettings } from '../../shared/heatmap/overlay'
import type { WordSpec } from '../../shared/heatmap/word-maps'
import { svgText } from './svg-text'

/** The CLI's file name (a reserved stem, so no word's file takes it). */
export const TIMELAPSE_FILE = 'timelapse.webp'

/** A step's live preview: RGB bytes at latent size. */
export interface StepPreview {
  width: number
  height: number
  rgb: Uint8Array
}

export interface TimelapseInput {
  record: AttentionRecord
  /** The finished image (RGB or RGBA). */
  image: ImageBytes
  word: WordSpec
  stream?: StreamName
  settings: OverlaySettings
  /** previews[k]: the preview after step k (a missing one repeats the one before, else the image). */
  previews?: readonly (StepPreview | undefined)[]
  /** Longest side of each panel (default: the image's, at most 256). */
  panelSide?: number
  /** Milliseconds per frame (the last frame holds 4 times as long). */
  frameMs?: number
}

export interface Timelapse {
  webp: Buffer
  frames: number
  width: number
  height: number
}

/** RGB(A) bytes brought to w x h with the maps' bicubic filter (a copy when the size is the same). */
function fit(image: ImageBytes, w: number, h: number): ImageBytes {
  if (image.channels === 3 && image.width === w && image.height === h) return image
  const rgb = new Uint8Array(image.width * image.height * 3)
  for (let i = 0; i < image.width * image.height; i++)
    for (let c = 0; c < 3; c++) rgb[i * 3 + c] = image.data[i * image.channels + c]!
  return enlargeRgb(rgb, image.width, image.height, w, h)
}

export async function renderTimelapse(input: TimelapseInput): Promise<Timelapse> {
  const { record, word, settings } = input
  const S = record.steps
  const side = input.panelSide ?? Math.min(256, Math.max(input.image.width, input.image.height))
  const scale = side / Math.max(input.image.width, input.image.height)
  const pw = Math.max(1, Math.round(input.image.width * scale))
  const ph = Math.max(1, Math.round(input.image.height * scale))
  const strip = Math.max(16, Math.round(ph * 0.12))
  const fw = pw * 2
  const fh = ph + strip
  const image = fit(input.image, pw, ph)
  // the image-guided method snaps every frame's map to the final image
  const heatmaps = new Heatmaps(record, pw, ph, image)
  const scratch: OverlayScratch = {}
  const all = Buffer.alloc(fw * fh * 4 * S)
  let left = image
  for (let k = 0; k < S; k++) {
    const p = input.previews?.[k]
    // the last frame shows the decoded image itself
    if (k === S - 1) left = image
    else if (p) left = enlargeRgb(p.rgb, p.width, p.height, pw, ph)
    const map = renderOverlay(
      heatmaps,
      image,
      {
        ...settings,
        mode: 'heatmap',
        opacity: 1,
        words: [{ label: word.label, tokens: [...word.tokens] }],
        stream: input.stream ?? 'cond',
        filter: { ...settings.filter, step: undefined, steps: { from: 0, to: k } },
      },
      scratch,
    )
    const fontSize = Math.round(strip * 0.7)
    const svg =
      `<svg xmlns="http://www.w3.org/2000/svg" width="${fw}" height="${strip}">` +
      `<text x="${fw / 2}" y="${Math.round(strip * 0.78)}" font-family="sans-serif" font-size="${fontSize}" text-anchor="middle" fill="#ffffff">` +
      `${svgText(`step ${k + 1} / ${S} · ${word.label}`)}</text></svg>`
    const composites: OverlayOptions[] = [
      {
        input: Buffer.from(left.data.buffer, left.data.byteOffset, left.data.byteLength),
        raw: { width: pw, height: ph, channels: 3 },
        left: 0,
        top: 0,
      },
      {
        input: Buffer.from(map.buffer, map.byteOffset, map.byteLength),
        raw: { width: pw, height: ph, channels: 4 },
        left: pw,
        top: 0,
      },
      { input: Buffer.from(svg), left: 0, top: ph },
    ]
    const frame = await sharp({ create: { width: fw, height: fh, channels: 4, background: '#111318' } })
      .composite(composites)
      .raw()
      .toBuffer()
    frame.copy(all, k * fw * fh * 4)
  }
  const frameMs = input.frameMs ?? 250
  const delay = Array.from({ length: S }, (_, k) => (k === S - 1 ? frameMs * 4 : frameMs))
  const webp = await sharp(all, { raw: { width: fw, height: fh * S, channels: 4, pageHeight: fh } })
    .webp({ loop: 0, delay, lossless: true })
    .toBuffer()
  return { webp, frames: S, width: fw, height: fh }
}
