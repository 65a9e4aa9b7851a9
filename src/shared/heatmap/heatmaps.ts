/**
 * The heat-map front door used by the overlay composer (the renderer's canvas and saved files),
 * the main process and the CLI. Aggregation (the only expensive step) is cached per filter and
 * stream, so clicking words or switching normalisation only recombines cached token maps and runs
 * one resize per word. The 'guided' method (image-guided.ts) needs the generated image: callers
 * that have it pass it as `guide`.
 */
import type { AttentionRecord, RecordStreamName, StreamName } from '../attention-record'
import { aggregateTokens, type HeatmapFilter, type TokenMaps } from './aggregate'
import { latentWordMaps, toImageSize, type Normalization, type WordSpec } from './word-maps'
import { resizeBicubicToBytes } from './resize'
import { toBytes } from './compose'
import type { HeatmapMethod } from './methods'
import { guidedRefiner, guidedWordMap, type GuidedRefiner } from './image-guided'
import type { ImageBytes } from './compose'

export { HEATMAP_METHODS, type HeatmapMethod } from './methods'

export interface WordMapOptions {
  filter?: HeatmapFilter
  normalization?: Normalization
  /** 'uncond' = words of the negative prompt. */
  stream?: StreamName
  method?: HeatmapMethod
}

export interface WordMaps {
  width: number
  height: number
  /** One map per word, [y][x] at image size, values in [0, 1]. */
  maps: Float32Array[]
  tokenMaps: TokenMaps
}

export class Heatmaps {
  private readonly cache = new Map<string, TokenMaps>()
  private scratch: Float32Array | undefined
  private refiner: GuidedRefiner | undefined

  /** `guide`: the generated image (RGB or RGBA at image size), for the 'guided' method. */
  constructor(
    readonly record: AttentionRecord,
    readonly imageWidth: number,
    readonly imageHeight: number,
    private readonly guide?: ImageBytes,
  ) {
    if (guide && (guide.width !== imageWidth || guide.height !== imageHeight))
      throw new Error(`guide image is ${guide.width}x${guide.height}, maps ${imageWidth}x${imageHeight}`)
  }

  /** Whether the 'guided' method can run (the image was given). */
  get hasGuide(): boolean {
    return this.guide !== undefined
  }

  /** The image-guided refinement's state, built once per image on first use. */
  private guided(): GuidedRefiner {
    if (!this.guide) throw new Error('the image-guided method needs the generated image, which was not given')
    this.refiner ??= guidedRefiner(this.guide)
    return this.refiner
  }

  tokenMaps(filter: HeatmapFilter = {}, stream: StreamName = 'cond', method: HeatmapMethod = 'daam'): TokenMaps {
    if (method === 'refined' && stream !== 'cond')
      throw new Error('refined maps cover the prompt, not the negative prompt')
    // 'guided' refines DAAM's word maps afterwards: its token maps are DAAM's
    return this.streamMaps(filter, method === 'refined' ? 'refined' : stream)
  }

  private streamMaps(filter: HeatmapFilter, stream: RecordStreamName): TokenMaps {
    const key = `${stream}|${JSON.stringify(filter)}`
    let tm = this.cache.get(key)
    if (!tm) {
      tm = aggregateTokens(this.record, filter, stream)
      // the cache is small (one entry per filter the user tried); bound it anyway
      if (this.cache.size >= 32) this.cache.delete(this.cache.keys().next().value!)
      this.cache.set(key, tm)
    }
    return tm
  }

  /**
   * Word maps at image size. Pass `out` (e.g. the previous result's maps) to reuse buffers: at
   * 512x512 a fresh 1 MB array per word costs as much as computing it.
   */
  wordMaps(words: readonly WordSpec[], options: WordMapOptions = {}, out?: readonly Float32Array[]): WordMaps {
    const tm = this.tokenMaps(options.filter, options.stream, options.method)
    const mode = options.normalization ?? 'word'
    const refiner = options.method === 'guided' ? this.guided() : undefined
    const latent = latentWordMaps(tm, words, mode)
    const size = this.imageHeight * this.imageWidth
    const maps = latent.map((m, i) => {
      const buf = out?.[i]?.length === size ? out[i] : undefined
      if (refiner) return guidedWordMap(m, tm, mode, refiner, buf)
      return toImageSize(m, tm.height, tm.width, this.imageHeight, this.imageWidth, mode, buf)
    })
    return { width: this.imageWidth, height: this.imageHeight, maps, tokenMaps: tm }
  }

  /**
   * Word maps at image size as bytes (round(255 * value)), i.e. colour-map indices: the same maths
   * as wordMaps. For 'absolute' and 'across' the resize writes bytes directly (a quarter of the
   * memory traffic, measured in bench/heatmaps.ts); DAAM's 'word' mode needs the float upsample's
   * min and max first, so it goes through one float scratch map. The overlay composer draws from
   * wordMaps, which the colour map rounds to these same bytes.
   */
  wordBytes(
    words: readonly WordSpec[],
    options: WordMapOptions = {},
    out?: readonly Uint8ClampedArray[],
  ): Uint8ClampedArray[] {
    const tm = this.tokenMaps(options.filter, options.stream, options.method)
    const mode = options.normalization ?? 'word'
    const refiner = options.method === 'guided' ? this.guided() : undefined
    const latent = latentWordMaps(tm, words, mode)
    const size = this.imageHeight * this.imageWidth
    const viaFloat = mode === 'word' || refiner !== undefined
    if (viaFloat && this.scratch?.length !== size) this.scratch = new Float32Array(size)
    return latent.map((m, i) => {
      const buf = out?.[i]?.length === size ? out[i] : new Uint8ClampedArray(size)
      if (!viaFloat) return resizeBicubicToBytes(m, tm.height, tm.width, buf, this.imageHeight, this.imageWidth)
      if (refiner) return toBytes(guidedWordMap(m, tm, mode, refiner, this.scratch!), buf)
      return toBytes(toImageSize(m, tm.height, tm.width, this.imageHeight, this.imageWidth, mode, this.scratch), buf)
    })
  }
}
