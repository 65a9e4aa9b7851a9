/**
 * The CLI's `--heatmaps all|word,word`: resolves the words through the tokenizer's spans and
 * writes `<word>.overlay.png`, `<word>.npy`, `grid.png`, `composite.overlay.png`, `raw/` and
 * `heatmaps.json` into the output folder. Returns what belongs in meta.json. Words that are not
 * in the prompt are an error (listed), never silently skipped.
 */
import type { AttentionRecord } from '../../shared/attention-record'
import { heatmapWords } from '../../shared/heatmap/prompt-words'
import type { PromptEncoding } from '../../shared/tokenizer/words'
import { exportHeatmaps, type GenerationMeta, type HeatmapExportOptions } from './export'

export interface CliHeatmapsInput {
  outDir: string
  /** The --heatmaps value: "all" or "word,word". */
  spec: string
  encoding: PromptEncoding
  record: AttentionRecord
  rgb: Uint8Array
  width: number
  height: number
  meta: GenerationMeta
  /** Overlay settings (defaults: DAAM's jet at 50 %, per-word normalisation). */
  style?: Pick<HeatmapExportOptions, 'colormap' | 'opacity' | 'normalization' | 'filter' | 'mode' | 'tau'>
}

export interface CliHeatmapsMeta {
  words: { word: string; tokenIndices: number[]; overlay: string; npy: string }[]
  grid: string
  index: string
  raw?: string
  approximate: boolean
}

export class HeatmapWordsError extends Error {}

export async function writeCliHeatmaps(input: CliHeatmapsInput): Promise<CliHeatmapsMeta> {
  const { words, missing } = heatmapWords(input.encoding, input.spec)
  if (missing.length > 0) {
    const known = input.encoding.words.filter((w) => w.kind === 'word').map((w) => w.text)
    throw new HeatmapWordsError(
      `--heatmaps: not in the prompt: ${missing.join(', ')} (prompt words: ${known.join(', ')})`,
    )
  }
  if (words.length === 0) throw new HeatmapWordsError('--heatmaps: the prompt has no words to map')
  const res = await exportHeatmaps({
    outDir: input.outDir,
    image: { data: input.rgb, width: input.width, height: input.height, channels: 3 },
    record: input.record,
    words,
    meta: input.meta,
    tokenStrings: input.encoding.tokens,
    ...input.style,
  })
  return {
    words: res.words.map((w) => ({ word: w.word, tokenIndices: w.tokenIndices, overlay: w.overlay, npy: w.npy })),
    grid: res.grid,
    index: res.index,
    raw: res.rawIndex ? 'raw/index.json' : undefined,
    approximate: res.approximate,
  }
}
