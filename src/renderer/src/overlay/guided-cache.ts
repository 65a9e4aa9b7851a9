/**
 * The renderer's cache of precomputed image-guided word maps (issue 16: the method must cost a
 * click no more than DAAM). Pure logic, no DOM: OverlayView (overlay-view.ts) keeps one per shown
 * generation, asks it which words the worker should compute (`want`), files the worker's results
 * (`accept`) and draws from it (`lookup`); the worker's messages are typed here for both ends
 * (guided-client.ts and guided-worker-core.ts).
 *
 * Why a cache keyed by settings: a guided map depends on the word, the stream, the normalisation
 * and the heat-map filter (layers, steps), not on the colours or the mode. So all words of the
 * shown stream are computed once per generation and again when one of those settings changes; a
 * click then only composes. Staleness: a result counts only while its job's settings are the
 * current ones (a job for older settings, or from an older generation's cache, is dropped), and a
 * new job supersedes the one underway, which the worker stops between words.
 */
import type { HeatmapFilter, TokenMaps } from '../../../shared/heatmap/aggregate'
import type { StreamName } from '../../../shared/attention-record'
import type { Normalization, WordSpec } from '../../../shared/heatmap/word-maps'

/** What a guided map depends on besides the word. */
export interface GuidedSettings {
  filter?: HeatmapFilter
  stream?: StreamName
  normalization?: Normalization
}

/** Renderer -> worker: the generation's image (the guide), sent once per shown generation. */
export interface GuidedImageMessage {
  type: 'image'
  image: number
  data: Uint8Array | Uint8ClampedArray
  width: number
  height: number
  channels: 3 | 4
}

/** Renderer -> worker: compute these words' maps from these token maps, on image `image`. */
export interface GuidedJobMessage {
  type: 'job'
  job: number
  image: number
  /** The filter's token maps (copied: the renderer's Heatmaps keeps its own). */
  tokenMaps: TokenMaps
  words: WordSpec[]
  normalization: Normalization
}

/**
 * Renderer -> worker: the per-layer grid's thumbnails of one word, each cell from its own token
 * maps (null: the cell has none), at `width` x `height` with the image shrunk to that size as guide.
 */
export interface GuidedThumbsMessage {
  type: 'thumbs'
  job: number
  image: number
  width: number
  height: number
  word: WordSpec
  normalization: Normalization
  cells: (TokenMaps | null)[]
}

export type GuidedRequest = GuidedImageMessage | GuidedJobMessage | GuidedThumbsMessage

/** Worker -> renderer: one word's map at image size (by token key), or why the job failed. */
export type GuidedResult = { job: number; tokens: string; map: Float32Array } | { job: number; error: string }

/** Worker -> renderer: a thumbnails job's cells (null where a cell has no map). */
export interface GuidedThumbsResult {
  job: number
  thumbs: (Float32Array | null)[]
}

export type GuidedReply = GuidedResult | GuidedThumbsResult

let nextJob = 1

/** Numbers the worker's jobs, maps and thumbnails alike, across generations. */
export function nextJobId(): number {
  return nextJob++
}

/** Keys a word by its tokens (the same tokens give the same map whatever the label). */
export function tokensKey(tokens: readonly number[]): string {
  return tokens.join('.')
}

/** Keys the settings a guided map depends on. specFilter gives filters in one property order. */
export function settingsKey(s: GuidedSettings): string {
  return `${s.stream ?? 'cond'}|${s.normalization ?? 'word'}|${JSON.stringify(s.filter ?? {})}`
}

/** Memory the precomputed maps of one generation may take (float maps at image size). */
export const GUIDED_CACHE_BYTES = 64 * 1024 * 1024

/**
 * The words to precompute, most wanted first: the picked ones, then every chip, then the hover
 * read-out's merged words (a word typed twice), each once, at most as many as GUIDED_CACHE_BYTES
 * holds at this image size (64 at 512x512, 16 at 1024x1024).
 */
export function precomputeWords(
  groups: readonly (readonly WordSpec[])[],
  width: number,
  height: number,
  budgetBytes = GUIDED_CACHE_BYTES,
): WordSpec[] {
  const limit = Math.max(1, Math.floor(budgetBytes / (width * height * 4)))
  const seen = new Set<string>()
  const out: WordSpec[] = []
  for (const group of groups)
    for (const w of group) {
      const key = tokensKey(w.tokens)
      if (w.tokens.length === 0 || seen.has(key)) continue
      seen.add(key)
      out.push(w)
      if (out.length === limit) return out
    }
  return out
}

export class GuidedMapCache {
  private key: string | null = null
  private readonly maps = new Map<string, Float32Array>()
  /** Token keys asked of the job underway and not back yet. */
  private readonly pending = new Set<string>()
  /** Settings key of each job this cache issued (a result is filed only under its own). */
  private readonly jobs = new Map<number, string>()
  /** The worker failed on these settings: the click path computes inline until they change. */
  private failed = false

  /**
   * The job the worker should run for these settings and words: the words without a map yet, or
   * null when there are none or the job underway already covers them. New settings drop the maps
   * of the old ones. A returned job supersedes the previous one (it repeats its missing words).
   */
  want(settings: GuidedSettings, words: readonly WordSpec[]): { job: number; words: WordSpec[] } | null {
    const key = settingsKey(settings)
    if (key !== this.key) {
      this.key = key
      this.maps.clear()
      this.pending.clear()
      this.jobs.clear()
      this.failed = false
    }
    if (this.failed) return null
    const seen = new Set<string>()
    const missing = words.filter((w) => {
      const k = tokensKey(w.tokens)
      if (this.maps.has(k) || seen.has(k)) return false
      seen.add(k)
      return true
    })
    if (missing.every((w) => this.pending.has(tokensKey(w.tokens)))) return null
    const job = nextJobId()
    this.jobs.set(job, key)
    this.pending.clear()
    for (const w of missing) this.pending.add(tokensKey(w.tokens))
    return { job, words: missing }
  }

  /** Files a worker result; false (and nothing kept) when it is stale or a failure. */
  accept(result: GuidedResult): boolean {
    if (this.key === null || this.jobs.get(result.job) !== this.key) return false
    if ('error' in result) {
      // the click path computes inline; asking again would fail again for these settings
      this.pending.clear()
      this.failed = true
      return false
    }
    this.maps.set(result.tokens, result.map)
    this.pending.delete(result.tokens)
    return true
  }

  /** The precomputed map of `tokens` under these settings, if the worker delivered it. */
  lookup(settings: GuidedSettings, tokens: readonly number[]): Float32Array | undefined {
    return settingsKey(settings) === this.key ? this.maps.get(tokensKey(tokens)) : undefined
  }

  /** How many maps are held (for tests and the bench's read-out). */
  get size(): number {
    return this.maps.size
  }
}
