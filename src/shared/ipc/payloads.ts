/**
 * Response and event payload types of the model, generation, history and overlay channels.
 * Binary data (PNG bytes, RGB pixels, the serialised attention record) travels as Uint8Array:
 * Electron's structured clone and Playwright's serializer both carry typed arrays as bytes.
 */
import type { RecordLayer } from '../attention-record'
import type { GenerationProgress } from '../generation'

/** A model as the UI shows it: what it is, how big its images are, what runs it. */
export interface ModelSummary {
  dir: string
  name: string
  bundled: boolean
  /** Default image size (the U-Net's sample_size times the VAE factor). */
  width: number
  height: number
  /** Width and height must be multiples of this. */
  spatialMultiple: number
  /** Size presets offered in the UI, the default first. */
  sizePresets: { width: number; height: number }[]
  /** The scheduler the model's scheduler_config.json names. */
  defaultScheduler: string
  provider: string
  providerNote?: string
  /** Token limit of the text encoder (77 for CLIP). */
  maxTokens: number
  /** Cross-attention layers the hook taps; empty when attention is fused. */
  layers: LayerDescriptor[]
  /** Why there are no heat maps for this model, when there are none. */
  attentionWarning?: string
  /** Prompt suggested by the model card (the bundled model's demo prompt). */
  demoPrompt?: string
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
  timings: { totalMs: number; denoiseMs: number; stepMs: number }
  /** Where it was stored; `saveError` says why it is not (e.g. read-only disk). */
  history: { saved: boolean; saveError?: string }
}

/** `generate:progress` event. */
export interface ProgressEvent extends Omit<GenerationProgress, 'preview'> {
  /** Live preview as RGB bytes at latent size (cheap linear decode). */
  preview?: { width: number; height: number; rgb: Uint8Array }
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
  /** Small PNG thumbnail. */
  thumbnail: Uint8Array
}

export interface HistoryList {
  items: HistoryItem[]
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
