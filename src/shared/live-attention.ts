/**
 * Live attention: what one denoising step adds to the attention, small enough to ride on every
 * `generate:progress` event, and the running record the window rebuilds from those events.
 * Callers: src/main/attention/live-attention.ts (the pipeline observer in the engine worker that
 * builds one LiveStep per step), src/main/service/generator.ts (attaches it to progress) and the
 * renderer's live stage (src/renderer/src/state/use-live-maps.ts), which folds the steps into a
 * LiveRecord and draws it with the usual Heatmaps + renderOverlay.
 *
 * Size. A LiveStep holds, for the prompt's kept tokens only (BOS..first EOS; cond stream), the
 * step's attention averaged over the coarsest down/up layers (the smallest native resolution
 * outside the mid block), as float16:
 *   bytes = 2 * T * h_c * w_c
 * SD 1.5 at 512x512: the 16x16 layers (2 down + 3 up), 10 words (T = 12): 2 * 12 * 256 = 6 144 bytes
 * per step (plus ~100 bytes of JSON fields); the whole per-step record would be 2 * 12 * 26 944 =
 * 646 656 bytes. The bundled model at 128x128 (latent 16x16, coarse layers 4x4): 2 * T * 16 bytes.
 * The coarse layers are where DAAM's maps take their shape; the finished record (all layers) replaces
 * the live maps when the generation ends.
 */
import type { AttentionRecord, RecordLayer } from './attention-record'

/** One step's attention for the live maps. */
export interface LiveStep {
  /** 0-based denoising step. */
  step: number
  timestep: number
  /** Kept tokens of the prompt (cond stream). */
  tokens: number
  /** Native resolution of the averaged coarse layers. */
  height: number
  width: number
  /** Latent grid of the generation (the preview's size). */
  latentHeight: number
  latentWidth: number
  /** Layer indices averaged (RecordLayer.index). */
  layers: number[]
  /** float16 bits, [token][y][x]: the step's attention, mean over the coarse layers. */
  data: Uint16Array
}

export function liveStepBytes(tokens: number, height: number, width: number): number {
  return 2 * tokens * height * width
}

/**
 * The live steps received so far as an AttentionRecord with one synthetic layer (the coarse
 * mean), so the window draws live maps with the same Heatmaps and overlay composer as finished
 * ones. Steps must arrive in order; a step of another shape (a new generation) starts over.
 */
export class LiveRecord {
  private data = new Uint16Array(0)
  private count = 0
  private timesteps: number[] = []
  private shape: Omit<LiveStep, 'step' | 'timestep' | 'data'> | null = null

  get steps(): number {
    return this.count
  }

  add(step: LiveStep): void {
    const n = step.tokens * step.height * step.width
    if (step.data.length !== n) throw new Error(`live step has ${step.data.length} values, expected ${n}`)
    const s = this.shape
    if (
      !s ||
      step.step !== this.count ||
      s.tokens !== step.tokens ||
      s.height !== step.height ||
      s.width !== step.width
    ) {
      if (step.step !== 0) throw new Error(`live step ${step.step} arrived before step ${this.count}`)
      this.reset()
      this.shape = {
        tokens: step.tokens,
        height: step.height,
        width: step.width,
        latentHeight: step.latentHeight,
        latentWidth: step.latentWidth,
        layers: step.layers,
      }
    }
    if ((this.count + 1) * n > this.data.length) {
      const grown = new Uint16Array(Math.max(n * 8, this.data.length * 2))
      grown.set(this.data.subarray(0, this.count * n))
      this.data = grown
    }
    this.data.set(step.data, this.count * n)
    this.timesteps.push(step.timestep)
    this.count++
  }

  reset(): void {
    this.data = new Uint16Array(0)
    this.count = 0
    this.timesteps = []
    this.shape = null
  }

  /** The steps so far as a record (shares this object's buffer: use it before the next add). */
  record(): AttentionRecord | null {
    const s = this.shape
    if (!s || this.count === 0) return null
    const layer: RecordLayer = {
      index: s.layers[0] ?? 0,
      name: `live mean of ${s.layers.length} layer(s) at ${s.height}x${s.width}`,
      block: 'up',
      blockIndex: 0,
      height: s.height,
      width: s.width,
      bucketSize: 1,
    }
    const n = s.tokens * s.height * s.width
    return {
      steps: this.count,
      timesteps: [...this.timesteps],
      latentHeight: s.latentHeight,
      latentWidth: s.latentWidth,
      layers: [layer],
      cond: { name: 'cond', tokens: s.tokens, data: [this.data.subarray(0, this.count * n)] },
    }
  }
}
