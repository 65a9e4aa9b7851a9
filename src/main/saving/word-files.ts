/**
 * The one folder export: for each word an overlay PNG (the composer's output for that word alone,
 * exactly the canvas with only that word picked) and its map as .npy float32 [H, W]; a captioned
 * grid; the composite of all prompt words; the raw record (raw/) so any tool can recompute the
 * maps (see src/shared/attention-record.ts); and a JSON index. Callers: app-saves.ts ("Save all
 * words" with overlays, "Export maps" without) and cli-heatmaps.ts (the CLI's --heatmaps).
 */
import fs from 'node:fs/promises'
import path from 'node:path'
import { bucketCount, serializeRecord, type AttentionRecord, type StreamName } from '../../shared/attention-record'
import type { ImageBytes } from '../../shared/heatmap/compose'
import { Heatmaps } from '../../shared/heatmap/heatmaps'
import { specFilter, type OverlayScratch, type OverlaySettings } from '../../shared/heatmap/overlay'
import { settlingCurve, type SettlingCurve } from '../../shared/heatmap/settling'
import type { WordSpec } from '../../shared/heatmap/word-maps'
import type { OverlaySpec } from '../../shared/ipc/overlay'
import { writeNpy } from '../../shared/npy'
import { insertPngText } from '../png-text'
import { drawOverlay, fitting } from './draw'
import { StemSet } from './file-names'
import { renderGrid, type GridTile } from './grid'
import { generationText, overlayText, type GenerationInfo } from './metadata'
import { encodeOverlayPng } from './png'

/**
 * Stems of the files the exports write besides the words' own (and of files a caller puts next to
 * them: the CLI's image.png and meta.json, the history's thumb.png and record.bin). A prompt word
 * with one of these names gets "-2".
 */
export const RESERVED_STEMS = [
  'image',
  'thumb',
  'grid',
  'composite',
  'meta',
  'heatmaps',
  'maps',
  'raw',
  'record',
  'index',
  'timelapse',
]

export const GRID_FILE = 'grid.png'
export const COMPOSITE_FILE = 'composite.overlay.png'
export const RAW_DIR = 'raw'

export interface WordFilesInput {
  image: ImageBytes
  record: AttentionRecord
  /** The record's Heatmaps when the caller has one (its aggregation cache is reused). */
  heatmaps?: Heatmaps
  words: readonly WordSpec[]
  /** Words of the negative prompt (needs a record with the unconditional stream). */
  negativeWords?: readonly WordSpec[]
  settings: OverlaySettings
  generation: GenerationInfo
  /** Token strings of the kept tokens, for the raw index (PromptEncoding.tokens). */
  tokenStrings?: readonly string[]
  /** Overlay PNGs, grid and composite (true), or only the maps and the raw record (false). */
  overlays: boolean
  /** File name of the JSON index (default heatmaps.json). */
  indexName?: string
}

export interface ExportedWord {
  word: string
  stream: StreamName
  tokenIndices: number[]
  npy: string
  overlay?: string
  /** IoU of the word's tau mask from steps 1..k with its final mask, and the step it settles at. */
  settling: SettlingCurve
}

export interface WordFilesResult {
  words: ExportedWord[]
  grid?: string
  composite?: string
  index: string
  raw: string
  /** True when a step filter cut through time buckets (see TokenMaps.approximate). */
  approximate: boolean
}

/** Writes the word files into `dir` (which exists). */
export async function writeWordFiles(dir: string, o: WordFilesInput): Promise<WordFilesResult> {
  const { image, record, settings } = o
  const { width, height } = image
  const heatmaps = o.heatmaps ?? new Heatmaps(record, width, height, image)
  const stems = new StemSet(RESERVED_STEMS)
  const exported: ExportedWord[] = []
  const tiles: GridTile[] = [{ rgba: image.data, channels: image.channels, caption: 'image' }]
  const scratch: OverlayScratch = {}
  const filter = specFilter(settings)
  // what the filter selected (layers, steps), for the index and the composite's metadata
  const used = fitting(() => heatmaps.tokenMaps(filter, 'cond', settings.method))
  let approximate = false

  const groups: { stream: StreamName; words: readonly WordSpec[] }[] = [{ stream: 'cond', words: o.words }]
  if (o.negativeWords?.length) groups.push({ stream: 'uncond', words: o.negativeWords })
  for (const { stream, words } of groups) {
    if (words.length === 0) continue
    // the refined method covers the prompt only: negative-prompt words are exported as DAAM maps
    const method = stream === 'cond' || settings.method === 'guided' ? settings.method : undefined
    const maps = fitting(() =>
      heatmaps.wordMaps(words, { filter, normalization: settings.normalization, stream, method }),
    )
    approximate ||= maps.tokenMaps.approximate
    for (let i = 0; i < words.length; i++) {
      const word = words[i]!
      const stem = stems.take(word.label, { prefix: stream === 'uncond' ? 'neg-' : '' })
      const settling = fitting(() =>
        settlingCurve(record, word, {
          filter: { layers: filter.layers, resolutions: filter.resolutions },
          stream,
          tau: settings.tau,
          width,
          height,
        }),
      )
      const entry: ExportedWord = {
        word: word.label,
        stream,
        tokenIndices: [...word.tokens],
        npy: `${stem}.npy`,
        settling,
      }
      await fs.writeFile(path.join(dir, entry.npy), writeNpy(maps.maps[i]!, [height, width], 'float32'))
      if (o.overlays) {
        const spec: OverlaySpec = {
          ...settings,
          method,
          words: [{ label: word.label, tokens: [...word.tokens] }],
          stream,
        }
        const rgba = drawOverlay(heatmaps, image, spec, scratch)
        entry.overlay = `${stem}.overlay.png`
        const text = overlayText(o.generation, spec, maps.tokenMaps)
        await fs.writeFile(path.join(dir, entry.overlay), await encodeOverlayPng(rgba, width, height, text))
        tiles.push({ rgba, channels: 4, caption: stream === 'uncond' ? `−${word.label}` : word.label })
      }
      exported.push(entry)
    }
  }

  let grid: string | undefined
  let composite: string | undefined
  if (o.overlays) {
    grid = GRID_FILE
    const text = { ...generationText(o.generation), words: exported.map((w) => w.word).join(', ') }
    await fs.writeFile(path.join(dir, grid), insertPngText(await renderGrid(tiles, width, height), text))
    if (o.words.length > 1) {
      composite = COMPOSITE_FILE
      const spec: OverlaySpec = {
        ...settings,
        words: o.words.map((w) => ({ ...w, tokens: [...w.tokens] })),
        stream: 'cond',
      }
      const rgba = drawOverlay(heatmaps, image, spec, scratch)
      const png = await encodeOverlayPng(rgba, width, height, overlayText(o.generation, spec, used))
      await fs.writeFile(path.join(dir, composite), png)
    }
  }

  const rawIndex = await writeRawRecord(path.join(dir, RAW_DIR), record, o.tokenStrings)
  const index = o.indexName ?? 'heatmaps.json'
  const indexJson = {
    format: 'daam-heatmaps/1',
    width,
    height,
    ...settings,
    layers: used.layers,
    steps: used.steps,
    approximate,
    npyLayout: 'float32 [height, width], values in [0, 1] after normalisation',
    settlingLayout:
      'words[].settling.iou[k]: IoU of the tau mask from steps 1..k+1 with the final mask (per-word normalisation, the layers above); settledAt: 1-based step from which it stays >= 0.9',
    meta: o.generation,
    words: exported,
    grid,
    composite,
    raw: path.relative(dir, rawIndex).split(path.sep).join('/'),
  }
  await fs.writeFile(path.join(dir, index), `${JSON.stringify(indexJson, null, 2)}\n`)
  return { words: exported, grid, composite, index, raw: indexJson.raw, approximate }
}

/**
 * raw/layer_NN.npy: float16 [buckets, tokens, h, w] per layer and stream (buckets = steps when
 * bucket_size is 1; [buckets, heads, tokens, h, w] in a per-head record), raw/record.bin (the
 * binary record, read by scripts/daam-reference.py), plus raw/index.json describing layers,
 * tokens and time steps. Recompute the
 * DAAM map of token t: for each layer sum axis 0, bicubic-upsample to the latent grid, clamp >= 0,
 * average the layers (leaving out the mid block). Returns the index's path.
 */
export async function writeRawRecord(
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
      const heads = layer.heads ? [layer.heads] : [] // per-head records: [bucket, head, token, y, x]
      const shape = [bucketCount(record.steps, layer.bucketSize), ...heads, s.tokens, layer.height, layer.width]
      await fs.writeFile(path.join(dir, file), writeNpy(s.data[li]!, shape, 'float16'))
      files[s.name] = file
    }
    layers.push({ ...layer, files })
  }
  // the same record in the binary layout of src/shared/attention-record.ts (what the history keeps)
  await fs.writeFile(path.join(dir, 'record.bin'), serializeRecord(record))
  const index = path.join(dir, 'index.json')
  const json = {
    format: 'daam-attention-record/1',
    description:
      'Cross-attention probabilities, mean over heads, per layer: [bucket, token, y, x] ([bucket, head, token, y, x] for layers with "heads"); a bucket sums bucketSize consecutive steps (1 = per step). Tokens: BOS, prompt tokens, first EOS. record.bin: the same record, binary (DAAMREC1).',
    steps: record.steps,
    timesteps: record.timesteps,
    latentHeight: record.latentHeight,
    latentWidth: record.latentWidth,
    tokens: tokenStrings ? tokenStrings.slice(0, record.cond.tokens) : undefined,
    streams: streams.map((s) => ({ name: s.name, tokens: s.tokens })),
    layers,
  }
  await fs.writeFile(index, `${JSON.stringify(json, null, 2)}\n`)
  return index
}
