/**
 * Response and event payload types of the model, generation, history and overlay channels.
 * Binary data (PNG bytes, RGB pixels, the serialised attention record) travels as Uint8Array:
 * Electron's structured clone and Playwright's serializer both carry typed arrays as bytes.
 * The history's schemas (ids, a stored generation's metadata, list paging) live here too: the
 * contract validates requests with them and the history store (src/main/history/store.ts)
 * validates what it reads from disk with the same ones, so a hand-edited meta.json can never
 * reach the renderer with fields missing.
 */
import { z } from 'zod'
import type { RecordLayer } from '../attention-record'
import { generationParamsSchema, type GenerationProgress, type ModelGenerationDefaults } from '../generation'
import type { LiveStep } from '../live-attention'

/** A model as the UI shows it: what it is, how big its images are, what runs it. */
export interface ModelSummary {
  dir: string
  name: string
  bundled: boolean
  /** The model family when it is not SD 1.x / 2.x (from the graphs: text_encoder_2, text_embeds, time_ids). */
  kind?: 'SDXL' | 'SDXL-Turbo'
  /** Default image size (the U-Net's sample_size times the VAE factor). */
  width: number
  height: number
  /** Width and height must be multiples of this. */
  spatialMultiple: number
  /** Size presets offered in the UI, the default first. */
  sizePresets: { width: number; height: number }[]
  /** The scheduler the model's scheduler_config.json names. */
  defaultScheduler: string
  /** Steps and guidance the form starts from for this model (Turbo models: 1 step, guidance 0). */
  defaults: ModelGenerationDefaults
  provider: string
  providerNote?: string
  /** Token limit of the text encoder (77 for CLIP). */
  maxTokens: number
  /** Cross-attention layers the hook taps; empty when the model's attention cannot be tapped. */
  layers: LayerDescriptor[]
  /** True when the maps are recomputed from fused attention kernels (ORT-optimised exports). */
  recomputedAttention?: boolean
  /** Why there are no heat maps for this model, when there are none. */
  attentionWarning?: string
  /** Prompt suggested by the model card (the bundled model's demo prompt). */
  demoPrompt?: string
  /** The largest square image that fits this machine's free memory when the model loaded. */
  maxFittingSize?: { width: number; height: number }
}

export interface LayerDescriptor {
  index: number
  name: string
  block: RecordLayer['block']
}

export interface RecentModel {
  dir: string
  name: string
  /** ISO time it was last opened. */
  openedAt: string
}

/** One word of a prompt as typed, with the token positions the attention record uses. */
export interface WordChip {
  /** Position among the prompt's words (punctuation included), as the tokenizer reports it. */
  index: number
  text: string
  start: number
  end: number
  /** Kept-token positions (BOS = 0); empty when the word has no tokens left. */
  tokenIndices: number[]
  /** Why the chip cannot be picked (no tokens, truncated away, no attention). */
  disabledReason?: string
  /** True when truncation removed some, not all, of the word's tokens. */
  partiallyTruncated?: boolean
}

export interface GenerationParamsView {
  prompt: string
  negativePrompt: string
  seed: number
  steps: number
  guidance: number
  scheduler: string
  width: number
  height: number
  /** Word weights (issue 17), present only when some were set. */
  weights?: Record<string, number>
  negativeWeights?: Record<string, number>
  weightSteps?: { from: number; to: number }
}

/** How an attributed image (an existing picture mapped to a caption) was made from its source. */
export interface AttributedInfo {
  /** The file's name as the user gave it (no folder). */
  sourceName: string
  source: { width: number; height: number; format: string; hasAlpha: boolean }
  /** The part of the source kept (centre crop to the model's aspect), in source pixels. */
  crop: { left: number; top: number; width: number; height: number }
  /** Noised timesteps the U-Net saw, noisiest first, and the settings that chose them. */
  timesteps: number[]
  noise: { from: number; to: number }
  seed: number
}

/** A finished generation: image, attention record and everything to show or restore it. */
export interface GenerationPayload {
  id: string
  createdAt: string
  params: GenerationParamsView
  model: { name: string; dir: string }
  provider: string
  width: number
  height: number
  /** The image as PNG (parameters in its text chunks). */
  png: Uint8Array
  /** The same image as interleaved RGB bytes, width * height * 3 (what overlays compose over). */
  rgb: Uint8Array
  /** Serialised attention record (src/shared/attention-record.ts); null when nothing was recorded. */
  record: Uint8Array | null
  /** The tapped cross-attention layers the record holds, in execution order. */
  layers: LayerDescriptor[]
  words: WordChip[]
  negativeWords: WordChip[]
  /** Words the tokenizer dropped because the prompt was too long. */
  droppedWords: string[]
  attentionWarning?: string
  /** Set when the run fit in this machine's free memory only just (checked before it started). */
  memoryWarning?: string
  timings: { totalMs: number; denoiseMs: number; stepMs: number }
  /** Where it was stored; `saveError` says why it is not (e.g. read-only disk). */
  history: { saved: boolean; saveError?: string }
  /** Set for an attributed image: not generated, an existing picture mapped to the prompt. */
  attributed?: AttributedInfo
  /** The attributed image's source, as a PNG at most SOURCE_PREVIEW_SIDE a side (the crop is shown on it). */
  sourcePng?: Uint8Array
  /** Knock-outs run on this generation (issue 17), one per word, kept with its history entry. */
  knockouts?: KnockoutEntry[]
}

/**
 * One word knocked out of a generation: the re-run with the word's attention scaled to 0 from
 * round `fromStep` on, the change map and the figures (src/main/attention/knockout.ts).
 */
export interface KnockoutEntry {
  /** The word as its chip shows it (all occurrences are knocked out together). */
  word: string
  tokens: number[]
  /** The knocked-out image as PNG (its parameters, the 0 weight included, in its text chunks). */
  png: Uint8Array
  /** |image - knocked-out|, smoothed, min-max normalised, as bytes (0-255), width * height. */
  change: Uint8Array
  width: number
  height: number
  /** Fraction of the image in the change map's tau mask. */
  changeSize: number
  /** IoU of the word's tau mask and the change map's tau mask. */
  agreement: number
  /** The word's share of the prompt tokens' attention. */
  attentionShare: number
  /** Attention and effect disagree (agreement below DISAGREE_BELOW). */
  disagree: boolean
  tau: number
  /** First denoising round with the word knocked out. */
  fromStep: number
  ms: number
}

/** `knockout:progress` event: one per finished word. */
export interface KnockoutProgress {
  id: string
  done: number
  total: number
  word: string
  etaMs: number
}

/** Longest side of an attributed image's stored source preview. */
export const SOURCE_PREVIEW_SIDE = 256

/** `generate:progress` event. */
export interface ProgressEvent extends Omit<GenerationProgress, 'preview'> {
  /** Live preview as RGB bytes at latent size (cheap linear decode). */
  preview?: { width: number; height: number; rgb: Uint8Array }
  /** The step's attention for the live maps (src/shared/live-attention.ts); absent without taps. */
  live?: LiveStep
  /** The prompt's word chips, on the first event of a generation (the live maps' chips). */
  words?: WordChip[]
}

/** History ids are generated by the service: date-time plus random hex (also a safe folder name). */
export const generationIdSchema = z.string().regex(/^[0-9A-Za-z-]{8,64}$/)

/** Most history items one `history:list` call returns (each carries a thumbnail). */
export const HISTORY_PAGE_MAX = 500
/** Items returned when the request names no limit: a screenful, whatever the history's size. */
export const HISTORY_PAGE_DEFAULT = 60

/** `history:list` request: an optional page (newest first). */
export const historyPageSchema = z
  .object({
    offset: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).default(0),
    limit: z.number().int().min(1).max(HISTORY_PAGE_MAX).default(HISTORY_PAGE_DEFAULT),
  })
  .strict()
export type HistoryPage = z.input<typeof historyPageSchema>

const count = z.number().int().min(0)
const wordChipSchema = z.object({
  index: count,
  text: z.string(),
  start: count,
  end: count,
  tokenIndices: z.array(count),
  disabledReason: z.string().optional(),
  partiallyTruncated: z.boolean().optional(),
}) satisfies z.ZodType<WordChip>

const side = generationParamsSchema.shape.width.unwrap()
/** A generation's parameters as stored: the request's own field schemas, every one present. */
const paramsViewSchema = z.object({
  prompt: generationParamsSchema.shape.prompt,
  negativePrompt: generationParamsSchema.shape.negativePrompt.unwrap(),
  seed: generationParamsSchema.shape.seed.unwrap(),
  steps: generationParamsSchema.shape.steps.unwrap(),
  guidance: generationParamsSchema.shape.guidance.unwrap(),
  scheduler: generationParamsSchema.shape.scheduler.unwrap(),
  width: side,
  height: side,
  weights: generationParamsSchema.shape.weights,
  negativeWeights: generationParamsSchema.shape.negativeWeights,
  weightSteps: generationParamsSchema.shape.weightSteps,
}) satisfies z.ZodType<GenerationParamsView>

/**
 * A generation's metadata: the payload without its binary parts (png, rgb, record). `layers` is
 * optional because entries written before layer descriptors were stored lack it.
 */
export const generationMetaSchema = z.object({
  id: generationIdSchema,
  createdAt: z.string().min(1).max(64),
  params: paramsViewSchema,
  model: z.object({ name: z.string(), dir: z.string() }),
  provider: z.string(),
  width: side,
  height: side,
  layers: z
    .array(z.object({ index: count, name: z.string(), block: z.enum(['down', 'mid', 'up', 'unknown']) }))
    .optional(),
  words: z.array(wordChipSchema),
  negativeWords: z.array(wordChipSchema),
  droppedWords: z.array(z.string()),
  attentionWarning: z.string().optional(),
  memoryWarning: z.string().optional(),
  timings: z.object({ totalMs: z.number(), denoiseMs: z.number(), stepMs: z.number() }),
  history: z.object({ saved: z.boolean(), saveError: z.string().optional() }),
  attributed: z
    .object({
      sourceName: z.string().max(1000),
      source: z.object({ width: count, height: count, format: z.string().max(20), hasAlpha: z.boolean() }),
      crop: z.object({ left: count, top: count, width: count, height: count }),
      timesteps: z.array(count).max(100),
      noise: z.object({ from: z.number(), to: z.number() }),
      seed: count,
    })
    .optional(),
}) satisfies z.ZodType<
  Omit<GenerationPayload, 'png' | 'rgb' | 'record' | 'layers' | 'sourcePng'> & { layers?: LayerDescriptor[] }
>

/** The first problem zod found, as `path: message` (what a skipped history entry shows). */
export function describeSchemaIssue(error: z.ZodError): string {
  const issue = error.issues[0]
  return `${issue.path.join('.') || '(root)'}: ${issue.message}`
}

export interface HistoryItem {
  id: string
  createdAt: string
  prompt: string
  seed: number
  steps: number
  width: number
  height: number
  model: string
  /** An attributed image (an existing picture), not a generation. */
  attributed?: boolean
  /** Small PNG thumbnail. */
  thumbnail: Uint8Array
}

export interface HistoryList {
  /** One page, newest first. */
  items: HistoryItem[]
  /** Where the page starts and how many readable entries the history holds in all. */
  offset: number
  total: number
  /** Entries that could not be read; shown as a notice, never a crash. */
  skipped: { id: string; reason: string }[]
}

/** Result of a save: the path written, or null when the user cancelled the dialog. */
export interface SavedFile {
  path: string | null
}

/** `app:menu` event: a menu item the renderer handles (it owns the state they act on). */
export interface MenuCommand {
  command: 'open-model' | 'save-overlay' | 'save-all' | 'export-maps' | 'generate' | 'models'
}
