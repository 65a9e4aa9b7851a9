/**
 * Everything the image canvas needs to draw overlays without asking main: the decoded attention
 * record, the image pixels, cached aggregations (in Heatmaps) and reusable buffers. One instance
 * per shown generation (use-overlay.ts makes it; ImageStage draws and hovers with it). Drawing
 * calls the same `renderOverlay` main uses to save PNGs.
 *
 * Image-guided maps cost a refinement per word (3-4 ms at 512 px), more than a DAAM click: use-overlay
 * asks `precomputeGuided` for all words of the shown stream once per generation and settings, a
 * worker computes them (guided-client.ts), and drawing and hovering take them from the cache,
 * computing inline only what the worker has not delivered yet.
 */
import { deserializeRecord, type AttentionRecord } from '../../../shared/attention-record'
import { imageRgba, type ImageBytes } from '../../../shared/heatmap/compose'
import { Heatmaps, type WordMapOptions, type WordMaps } from '../../../shared/heatmap/heatmaps'
import { rankWordsAt } from '../../../shared/heatmap/masks'
import type { WordSpec } from '../../../shared/heatmap/word-maps'
import { renderOverlay, specFilter, type OverlayScratch } from '../../../shared/heatmap/overlay'
import type { OverlaySpec } from '../../../shared/ipc/overlay'
import type { GenerationPayload } from '../../../shared/ipc/payloads'
import { GuidedMapCache, precomputeWords, type GuidedSettings } from './guided-cache'
import { guidedWorker } from './guided-client'

/** Marked each time the worker delivers a precomputed image-guided map (the bench and e2e wait on it). */
export const GUIDED_MAP_MARK = 'guided-map-precomputed'

export interface HoverWord {
  label: string
  /**
   * The word's map at the pixel, 0..1: the same normalised map the overlay draws and thresholds
   * (issue 16: ranking, mask and colour agree).
   */
  share: number
}

export class OverlayView {
  readonly record: AttentionRecord | null
  readonly image: ImageBytes
  readonly heatmaps: Heatmaps | null
  private readonly scratch: OverlayScratch = {}
  private readonly imageData: ImageData
  private hoverCache: { key: string; maps: Float32Array[]; labels: string[] } | null = null
  /** Precomputed image-guided maps (filled by the worker). */
  readonly guidedMaps = new GuidedMapCache()
  /** Buffers of the maps a draw computes itself (never the cache's: those are read-only). */
  private drawMaps: Float32Array[] | undefined
  /** What renderOverlay draws from: this view's maps, not its scratch buffers (see wordMaps). */
  private readonly source = {
    wordMaps: (words: readonly WordSpec[], options: WordMapOptions = {}) => this.wordMaps(words, options, true),
  }

  constructor(readonly payload: GenerationPayload) {
    this.record = payload.record ? deserializeRecord(payload.record) : null
    this.image = { data: payload.rgb, width: payload.width, height: payload.height, channels: 3 }
    // the image is the guide of the image-guided method
    this.heatmaps = this.record ? new Heatmaps(this.record, payload.width, payload.height, this.image) : null
    this.imageData = new ImageData(payload.width, payload.height)
    // Compose straight into the canvas buffer: saves a full-image copy per click.
    this.scratch.rgba = this.imageData.data as Uint8ClampedArray<ArrayBuffer>
  }

  /** Distinct native resolutions of the recorded layers, largest first. */
  resolutions(): number[] {
    return [...new Set((this.record?.layers ?? []).map((l) => l.height))].sort((a, b) => b - a)
  }

  /** Resolutions DAAM's default uses (all but the mid block's), for the toggles' initial state. */
  defaultResolutions(): number[] {
    const layers = this.record?.layers ?? []
    const noMid = layers.filter((l) => l.block !== 'mid')
    return [...new Set((noMid.length ? noMid : layers).map((l) => l.height))].sort((a, b) => b - a)
  }

  /**
   * Aggregates the record for the default filter ahead of the first click (the one expensive
   * step: a fraction of a second for SD-sized records), so that click only combines maps.
   * The key matches what App's spec gives for untouched controls.
   */
  warm(): void {
    this.heatmaps?.tokenMaps({ resolutions: this.defaultResolutions() }, 'cond')
  }

  /** Paints the plain image. */
  drawImage(ctx: CanvasRenderingContext2D): void {
    imageRgba(this.image, this.imageData.data)
    ctx.putImageData(this.imageData, 0, 0)
  }

  /** Paints the overlay for `spec`. */
  draw(ctx: CanvasRenderingContext2D, spec: OverlaySpec): void {
    if (!this.heatmaps) throw new Error('no attention record to draw')
    const rgba = renderOverlay(this.source, this.image, spec, this.scratch)
    if (rgba !== this.imageData.data) this.imageData.data.set(rgba) // mask chains end in a scratch buffer
    ctx.putImageData(this.imageData, 0, 0)
  }

  /** Top words at a pixel, ranked on the overlay's own normalised maps (normalisation, method). */
  hover(
    x: number,
    y: number,
    words: readonly WordSpec[],
    spec: Pick<OverlaySpec, 'filter' | 'stream' | 'normalization' | 'method'>,
    top = 3,
  ): HoverWord[] {
    if (!this.heatmaps || words.length === 0) return []
    const key = `${spec.stream}|${spec.normalization}|${spec.method ?? 'daam'}|${JSON.stringify(spec.filter)}|${words.map((w) => w.tokens.join('.')).join(',')}`
    if (this.hoverCache?.key !== key) {
      const res = this.wordMaps(
        words,
        { filter: specFilter(spec), normalization: spec.normalization, stream: spec.stream, method: spec.method },
        false,
      )
      this.hoverCache = { key, maps: res.maps, labels: words.map((w) => w.label) }
    }
    const { maps, labels } = this.hoverCache
    return rankWordsAt(maps, x, y, this.image.width)
      .slice(0, top)
      .map(({ word, value }) => ({ label: labels[word]!, share: value }))
  }

  /**
   * Word maps for drawing (`reuse`: into this view's draw buffers) or hovering (fresh arrays): the
   * worker's image-guided maps where it has delivered them, the rest computed here. The cached
   * arrays are shared and never written: renderOverlay's `out` buffers are ignored for that reason.
   */
  private wordMaps(words: readonly WordSpec[], options: WordMapOptions, reuse: boolean): WordMaps {
    const hm = this.heatmaps!
    const cached = words.map((w) =>
      options.method === 'guided' ? this.guidedMaps.lookup(options, w.tokens) : undefined,
    )
    const missing = words.filter((_, i) => !cached[i])
    let res: WordMaps | undefined
    if (missing.length > 0) {
      res = hm.wordMaps(missing, options, reuse ? this.drawMaps : undefined)
      if (reuse) this.drawMaps = res.maps
      if (missing.length === words.length) return res
    }
    let k = 0
    return {
      width: this.image.width,
      height: this.image.height,
      maps: cached.map((m) => m ?? res!.maps[k++]!),
      tokenMaps: res?.tokenMaps ?? hm.tokenMaps(options.filter, options.stream, options.method),
    }
  }

  /**
   * Starts the worker on the image-guided maps of `words` (most wanted first; as many as the
   * cache's memory budget holds) under `settings`, unless it has them or is on them. Returns at
   * once; a later call with other settings or words supersedes this one.
   */
  precomputeGuided(settings: GuidedSettings, words: readonly (readonly WordSpec[])[]): void {
    const hm = this.heatmaps
    if (!hm?.hasGuide || !guidedWorker.available) return
    const job = this.guidedMaps.want(settings, precomputeWords(words, this.image.width, this.image.height))
    if (!job) return
    let tokenMaps
    try {
      tokenMaps = hm.tokenMaps(settings.filter, settings.stream, 'guided')
    } catch (error) {
      // an impossible filter: the canvas reports it; nothing to precompute
      this.guidedMaps.accept({ job: job.job, error: error instanceof Error ? error.message : String(error) })
      return
    }
    guidedWorker.run(this.image, job, tokenMaps, settings.normalization ?? 'word', (r) => {
      if (this.guidedMaps.accept(r)) performance.mark(GUIDED_MAP_MARK)
    })
  }
}
