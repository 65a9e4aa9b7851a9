/**
 * Everything the image canvas needs to draw overlays without asking main: the decoded attention
 * record, the image pixels, cached aggregations (in Heatmaps) and reusable buffers. One instance
 * per shown generation (use-overlay.ts makes it; ImageStage draws and hovers with it). Drawing
 * calls the same `renderOverlay` main uses to save PNGs.
 */
import { deserializeRecord, type AttentionRecord } from '../../../shared/attention-record'
import type { ImageBytes } from '../../../shared/heatmap/compose'
import { Heatmaps } from '../../../shared/heatmap/heatmaps'
import { rankWordsAt } from '../../../shared/heatmap/masks'
import type { WordSpec } from '../../../shared/heatmap/word-maps'
import { renderOverlay, specFilter, type OverlayScratch } from '../../../shared/heatmap/overlay'
import type { OverlaySpec } from '../../../shared/ipc/overlay'
import type { GenerationPayload } from '../../../shared/ipc/payloads'

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
    const { data, width, height } = this.image
    const out = this.imageData.data
    for (let i = 0, j = 0; i < width * height; i++, j += 3) {
      out[i * 4] = data[j]!
      out[i * 4 + 1] = data[j + 1]!
      out[i * 4 + 2] = data[j + 2]!
      out[i * 4 + 3] = 255
    }
    ctx.putImageData(this.imageData, 0, 0)
  }

  /** Paints the overlay for `spec`. */
  draw(ctx: CanvasRenderingContext2D, spec: OverlaySpec): void {
    if (!this.heatmaps) throw new Error('no attention record to draw')
    const rgba = renderOverlay(this.heatmaps, this.image, spec, this.scratch)
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
      const res = this.heatmaps.wordMaps(words, {
        filter: specFilter(spec),
        normalization: spec.normalization,
        stream: spec.stream,
        method: spec.method,
      })
      this.hoverCache = { key, maps: res.maps, labels: words.map((w) => w.label) }
    }
    const { maps, labels } = this.hoverCache
    return rankWordsAt(maps, x, y, this.image.width)
      .slice(0, top)
      .map(({ word, value }) => ({ label: labels[word]!, share: value }))
  }
}
