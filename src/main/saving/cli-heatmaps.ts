/**
 * The CLI's `--heatmaps all|word,word` (scripts/generate.ts): resolves the words through the
 * tokenizer's spans and writes the folder export (word-files.ts: `<word>.overlay.png`,
 * `<word>.npy`, `grid.png`, `composite.overlay.png`, `raw/`, `heatmaps.json`) into the output
 * folder, next to the image.png and meta.json the script writes (their names are reserved, so no
 * word's file replaces them). Returns what belongs in meta.json. Words that are not in the prompt
 * are an error (listed), never silently skipped.
 */
import type { AttentionRecord } from '../../shared/attention-record'
import { DEFAULT_OVERLAY, type OverlaySettings } from '../../shared/heatmap/overlay'
import { heatmapWords } from '../../shared/heatmap/prompt-words'
import type { PromptEncoding } from '../../shared/tokenizer/word-spans'
import type { GenerationInfo } from './metadata'
import { writeWordFiles } from './word-files'
import fs from 'node:fs/promises'

export interface CliHeatmapsInput {
  outDir: string
  /** The --heatmaps value: "all" or "word,word". */
  spec: string
  encoding: PromptEncoding
  record: AttentionRecord
  rgb: Uint8Array
  width: number
  height: number
  meta: GenerationInfo
  /** Overlay settings (default: DAAM's jet at 50 %, per-word normalisation, tau 0.4). */
  style?: Partial<OverlaySettings>
}

export interface CliHeatmapsMeta {
  words: { word: string; tokenIndices: number[]; overlay: string; npy: string }[]
  grid: string
  index: string
  raw: string
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
  await fs.mkdir(input.outDir, { recursive: true })
  const res = await writeWordFiles(input.outDir, {
    image: { data: input.rgb, width: input.width, height: input.height, channels: 3 },
    record: input.record,
    words,
    settings: { ...DEFAULT_OVERLAY, ...input.style },
    generation: input.meta,
    tokenStrings: input.encoding.tokens,
    overlays: true,
  })
  return {
    words: res.words.map((w) => ({ word: w.word, tokenIndices: w.tokenIndices, overlay: w.overlay!, npy: w.npy })),
    grid: res.grid!,
    index: res.index,
    raw: res.raw,
    approximate: res.approximate,
  }
}
