/**
 * Writes heat maps to disk for the CLI and the app's export: per word an overlay PNG (with
 * metadata) and the raw normalised map as .npy float32 [H, W]; a grid of all words with
 * captions; an index JSON; and the raw record as one .npy per layer with its own index, so any
 * tool can recompute the maps (see src/shared/attention-record.ts for the data's meaning).
 */
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import sharp, { type OverlayOptions } from 'sharp'
import { writeNpy } from '../../shared/npy'
import { colormapLut, type ColormapName } from '../../shared/colormaps'
import {
  compositeWords,
  distinctColors,
  overlayHeatmap,
  overlayMask,
  type ImageBytes,
} from '../../shared/heatmap/compose'
import { Heatmaps } from '../../shared/heatmap/heatmaps'
import { thresholdMask, DEFAULT_TAU } from '../../shared/heatmap/masks'
import type { HeatmapFilter } from '../../shared/heatmap/aggregate'
import type { Normalization, WordSpec } from '../../shared/heatmap/words'
import { bucketCount, type AttentionRecord } from '../../shared/attention-record'
import { insertPngText } from '../png-text'

export interface GenerationMeta {
  prompt: string
  negativePrompt?: string
  seed: number | string
  steps: number
  model: string
  [key: string]: unknown
}

export interface HeatmapExportOptions {
  outDir: string
  image: ImageBytes
  record: AttentionRecord
  words: readonly WordSpec[]
  /** Words of the negative prompt (needs a record with the unconditional stream). */
  negativeWords?: readonly WordSpec[]
  meta: GenerationMeta
  filter?: HeatmapFilter
  normalization?: Normalization
  colormap?: ColormapName
  opacity?: number
  /** Overlay as a thresholded mask with outline instead of the colour map. */
  mode?: 'heatmap' | 'mask'
  tau?: number
  /** Token strings of the kept tokens (for the raw index), e.g. PromptEncoding.tokens. */
  tokenStrings?: readonly string[]
  /** Write raw/ (default true). */
  raw?: boolean
}

export interface ExportedWord {
  word: string
  stream: 'cond' | 'uncond'
  tokenIndices: number[]
  overlay: string
  npy: string
}

export interface HeatmapExportResult {
  words: ExportedWord[]
  grid: string
  index: string
  rawIndex?: string
  /** True when a step filter cut through time buckets (see TokenMaps.approximate). */
  approximate: boolean
}

/** File-name-safe, unique stem for a word. */
function stemFor(label: string, used: Set<string>, prefix = ''): string {
  const base =
    prefix +
    (label
      .normalize('NFKD')
      .toLowerCase()
      .replace(/[^a-z0-9_-]+/g, '_')
      .replace(/^_+|_+$/g, '') || 'word')
  let stem = base
  for (let i = 2; used.has(stem); i++) stem = `${base}_${i}`
  used.add(stem)
  return stem
}

async function writePng(
  file: string,
  rgba: Uint8ClampedArray,
  width: number,
  height: number,
  text: Record<string, string>,
): Promise<void> {
  const png = await sharp(Buffer.from(rgba.buffer, rgba.byteOffset, rgba.byteLength), {
    raw: { width, height, channels: 4 },
  })
    .removeAlpha()
    .png()
    .toBuffer()
  await fs.writeFile(file, insertPngText(png, text))
}

function escapeXml(s: string): string {
  return s.replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c]!)
}

/** A grid of tiles (image first, then each word) with a caption strip under each tile. */
export async function renderGrid(
  tiles: { rgba: Uint8ClampedArray | Uint8Array; channels: 3 | 4; caption: string }[],
  width: number,
  height: number,
  maxColumns = 4,
): Promise<Buffer> {
  const cols = Math.min(maxColumns, tiles.length)
  const rows = Math.ceil(tiles.length / cols)
  const captionH = Math.max(18, Math.round(height * 0.12))
  const fontSize = Math.round(captionH * 0.7)
  const composites: OverlayOptions[] = []
  for (let i = 0; i < tiles.length; i++) {
    const left = (i % cols) * width
    const top = Math.floor(i / cols) * (height + captionH)
    const t = tiles[i]
    composites.push({
      input: Buffer.from(t.rgba.buffer, t.rgba.byteOffset, t.rgba.byteLength),
      raw: { width, height, channels: t.channels },
      left,
      top,
    })
    const svg =
      `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${captionH}">` +
      `<text x="${width / 2}" y="${Math.round(captionH * 0.75)}" font-family="sans-serif" font-size="${fontSize}" text-anchor="middle" fill="#111">${escapeXml(t.caption)}</text></svg>`
    composites.push({ input: Buffer.from(svg), left, top: top + height })
  }
  return sharp({
    create: { width: cols * width, height: rows * (height + captionH), channels: 3, background: '#ffffff' },
  })
    .composite(composites)
    .png()
    .toBuffer()
}

export async function exportHeatmaps(o: HeatmapExportOptions): Promise<HeatmapExportResult> {
  const { image, record } = o
  const { width, height } = image
  const normalization = o.normalization ?? 'word'
  const colormap = o.colormap ?? 'jet'
  const opacity = o.opacity ?? 0.5
  const tau = o.tau ?? DEFAULT_TAU
  const filter = o.filter ?? {}
  await fs.mkdir(o.outDir, { recursive: true })
  const heatmaps = new Heatmaps(record, width, height)
  const lut = colormapLut(colormap)
  const used = new Set<string>(['grid', 'heatmaps', 'image', 'raw'])
  const exported: ExportedWord[] = []
  const tiles: Parameters<typeof renderGrid>[0] = [{ rgba: image.data, channels: image.channels, caption: 'image' }]
  let approximate = false
  const colors = distinctColors(Math.max(1, o.words.length))

  const groups: { stream: 'cond' | 'uncond'; words: readonly WordSpec[] }[] = [{ stream: 'cond', words: o.words }]
  if (o.negativeWords?.length) groups.push({ stream: 'uncond', words: o.negativeWords })
  for (const g of groups) {
    if (g.words.length === 0) continue
    const res = heatmaps.wordMaps(g.words, { filter, normalization, stream: g.stream })
    // overlays from the display bytes: exactly what the renderer's canvas shows
    const display = heatmaps.wordBytes(g.words, { filter, normalization, stream: g.stream })
    approximate ||= res.tokenMaps.approximate
    for (let i = 0; i < g.words.length; i++) {
      const word = g.words[i]
      const map = res.maps[i]
      const stem = stemFor(word.label, used, g.stream === 'uncond' ? 'neg_' : '')
      const rgba =
        o.mode === 'mask'
          ? overlayMask(image, thresholdMask(display[i], tau), colors[i % colors.length])
          : overlayHeatmap(image, display[i], lut, opacity)
      const overlay = `${stem}.overlay.png`
      const npy = `${stem}.npy`
      await writePng(path.join(o.outDir, overlay), rgba, width, height, {
        prompt: o.meta.prompt,
        ...(o.meta.negativePrompt ? { negative_prompt: o.meta.negativePrompt } : {}),
        seed: String(o.meta.seed),
        steps: String(o.meta.steps),
        model: o.meta.model,
        word: word.label,
        stream: g.stream,
        filters: JSON.stringify({ ...filter, layers: res.tokenMaps.layers, steps: res.tokenMaps.steps }),
        normalization,
        colormap: o.mode === 'mask' ? `mask tau=${tau}` : colormap,
        Software: 'DAAM Studio',
      })
      await fs.writeFile(path.join(o.outDir, npy), writeNpy(map, [height, width], 'float32'))
      exported.push({ word: word.label, stream: g.stream, tokenIndices: [...word.tokens], overlay, npy })
      tiles.push({ rgba, channels: 4, caption: g.stream === 'uncond' ? `−${word.label}` : word.label })
    }
  }

  const grid = 'grid.png'
  await fs.writeFile(
    path.join(o.outDir, grid),
    insertPngText(await renderGrid(tiles, width, height), { prompt: o.meta.prompt, Software: 'DAAM Studio' }),
  )
  if (o.words.length > 1) {
    const all = heatmaps.wordMaps(o.words, { filter, normalization })
    await writePng(
      path.join(o.outDir, 'composite.overlay.png'),
      compositeWords(image, all.maps, colors),
      width,
      height,
      { prompt: o.meta.prompt, words: o.words.map((w) => w.label).join(', '), Software: 'DAAM Studio' },
    )
  }

  let rawIndex: string | undefined
  if (o.raw ?? true) rawIndex = await exportRawRecord(path.join(o.outDir, 'raw'), record, o.tokenStrings)

  const index = 'heatmaps.json'
  await fs.writeFile(
    path.join(o.outDir, index),
    JSON.stringify(
      {
        format: 'daam-heatmaps/1',
        width,
        height,
        normalization,
        colormap,
        opacity,
        tau,
        mode: o.mode ?? 'heatmap',
        filter,
        approximate,
        npyLayout: 'float32 [height, width], values in [0, 1] after normalisation',
        meta: o.meta,
        words: exported,
        grid,
        raw: rawIndex ? path.relative(o.outDir, rawIndex) : undefined,
      },
      null,
      2,
    ),
  )
  return { words: exported, grid, index, rawIndex, approximate }
}

/**
 * raw/layer_NN.npy: float16 [buckets, tokens, h, w] per layer and stream (buckets = steps when
 * bucket_size is 1), plus raw/index.json describing layers, tokens and time steps. Recompute the
 * DAAM map of token t: for each layer sum axis 0, bicubic-upsample to the latent grid, clamp >= 0,
 * average the layers (leaving out the mid block).
 */
export async function exportRawRecord(
  dir: string,
  record: AttentionRecord,
  tokenStrings?: readonly string[],
): Promise<string> {
  await fs.mkdir(dir, { recursive: true })
  const streams = [record.cond, ...(record.uncond ? [record.uncond] : [])]
  const layers = []
  for (const [li, layer] of record.layers.entries()) {
    const files: Record<string, string> = {}
    for (const s of streams) {
      const file = `layer_${String(li).padStart(2, '0')}${s.name === 'uncond' ? '_uncond' : ''}.npy`
      const shape = [bucketCount(record.steps, layer.bucketSize), s.tokens, layer.height, layer.width]
      await fs.writeFile(path.join(dir, file), writeNpy(s.data[li], shape, 'float16'))
      files[s.name] = file
    }
    layers.push({ ...layer, files })
  }
  const index = path.join(dir, 'index.json')
  await fs.writeFile(
    index,
    JSON.stringify(
      {
        format: 'daam-attention-record/1',
        description:
          'Cross-attention probabilities, mean over heads, per layer: [bucket, token, y, x]; a bucket sums bucketSize consecutive steps (1 = per step). Tokens: BOS, prompt tokens, first EOS.',
        steps: record.steps,
        timesteps: record.timesteps,
        latentHeight: record.latentHeight,
        latentWidth: record.latentWidth,
        tokens: tokenStrings ? tokenStrings.slice(0, record.cond.tokens) : undefined,
        streams: streams.map((s) => ({ name: s.name, tokens: s.tokens })),
        layers,
      },
      null,
      2,
    ),
  )
  return index
}
