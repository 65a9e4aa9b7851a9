/**
 * Builds the attention record from the extra U-Net outputs the engine delivers after each call
 * (`onUnetOutputs(stepIndex, timestep, outputs)`). Each tap output is [HW, 77] float32, already
 * the head mean of one guidance half; we keep the first T tokens (BOS..first EOS), transpose to
 * token-major [T][HW], and either store each step as float16 or sum steps into the layer's
 * current bucket (see planBuckets in src/shared/attention-record.ts).
 */
import type * as ort from 'onnxruntime-node'
import {
  bucketCount,
  layerResolution,
  planBuckets,
  RECORD_BUDGET_BYTES,
  type AttentionRecord,
  type AttentionStream,
  type RecordLayer,
} from '../../shared/attention-record'
import { toHalf } from '../../shared/float16'
import type { TapInfo } from './patch-unet'

export interface RecorderOptions {
  taps: readonly TapInfo[]
  latentHeight: number
  latentWidth: number
  /** Steps the generation will run (the record is cut if it is cancelled earlier). */
  steps: number
  /** Kept tokens of the prompt: index of the first EOS + 1. */
  condTokens: number
  /** Kept tokens of the negative/empty prompt, when negative maps are recorded. */
  uncondTokens?: number
  budgetBytes?: number
}

/** Which guidance half a call carries when the engine cannot batch cond and uncond together. */
export type CallPart = 'both' | 'cond' | 'uncond'

interface StreamState {
  stream: AttentionStream
  /** Float32 running sums of the current bucket per layer, [T][HW]. */
  acc: Float32Array[]
  output: (tap: TapInfo) => string | undefined
}

export class AttentionRecorder {
  private layers: RecordLayer[] | undefined
  private readonly states: StreamState[] = []
  private readonly timesteps: number[] = []
  private lastStep = -1

  constructor(private readonly options: RecorderOptions) {
    if (options.taps.length === 0) throw new Error('no tapped layers to record')
    this.states.push({
      stream: { name: 'cond', tokens: options.condTokens, data: [] },
      acc: [],
      output: (t) => t.output,
    })
    if (options.uncondTokens !== undefined) {
      if (options.taps.some((t) => !t.uncondOutput))
        throw new Error('negative maps asked for, but the U-Net was patched without them')
      this.states.push({
        stream: { name: 'uncond', tokens: options.uncondTokens, data: [] },
        acc: [],
        output: (t) => t.uncondOutput,
      })
    }
  }

  /** Plans storage once the first step tells the layers' resolutions. */
  private init(outputs: Record<string, ort.Tensor>): RecordLayer[] {
    const { taps, latentHeight, latentWidth, steps } = this.options
    const pixels = taps.map((tap) => {
      const t = outputs[tap.output]
      if (!t) throw new Error(`U-Net outputs lack the attention tap '${tap.output}'`)
      return t.dims[0]
    })
    const tokensTotal = this.states.reduce((s, st) => s + st.stream.tokens, 0)
    const sizes = planBuckets(pixels, steps, tokensTotal, this.options.budgetBytes ?? RECORD_BUDGET_BYTES)
    const layers = taps.map((tap, i): RecordLayer => ({
      index: tap.index,
      name: tap.name,
      block: tap.block,
      blockIndex: tap.blockIndex,
      ...layerResolution(pixels[i], latentHeight, latentWidth),
      bucketSize: sizes[i],
    }))
    for (const st of this.states) {
      st.stream.data = layers.map(
        (l, i) => new Uint16Array(bucketCount(steps, l.bucketSize) * st.stream.tokens * pixels[i]),
      )
      st.acc = layers.map((l, i) => new Float32Array(l.bucketSize > 1 ? st.stream.tokens * pixels[i] : 0))
    }
    return layers
  }

  onUnetOutputs(
    stepIndex: number,
    timestep: number,
    outputs: Record<string, ort.Tensor>,
    part: CallPart = 'both',
  ): void {
    if (stepIndex >= this.options.steps) throw new Error(`step ${stepIndex} beyond the ${this.options.steps} planned`)
    const layers = (this.layers ??= this.init(outputs))
    if (stepIndex !== this.lastStep) {
      this.timesteps[stepIndex] = timestep
      this.lastStep = stepIndex
    }
    for (const st of this.states) {
      // with separate calls per guidance half, each call is batch 1: its '.cond' tap is that half
      if (part !== 'both' && part !== st.stream.name) continue
      const T = st.stream.tokens
      layers.forEach((layer, li) => {
        const tap = this.options.taps[li]
        const tensor = outputs[part === 'both' ? st.output(tap)! : tap.output]
        const src = tensor.data as Float32Array
        const hw = tensor.dims[0]
        const tAll = tensor.dims[1]
        if (T > tAll) throw new Error(`record wants ${T} tokens, attention has ${tAll}`)
        if (layer.bucketSize === 1) {
          const dst = st.stream.data[li]
          const base = stepIndex * T * hw
          for (let t = 0; t < T; t++) {
            const row = base + t * hw
            for (let p = 0; p < hw; p++) dst[row + p] = toHalf(src[p * tAll + t])
          }
          return
        }
        const acc = st.acc[li]
        for (let t = 0; t < T; t++) {
          const row = t * hw
          for (let p = 0; p < hw; p++) acc[row + p] += src[p * tAll + t]
        }
        const inBucket = stepIndex % layer.bucketSize
        if (inBucket === layer.bucketSize - 1 || stepIndex === this.options.steps - 1)
          this.flush(st, li, Math.floor(stepIndex / layer.bucketSize))
      })
    }
  }

  private flush(st: StreamState, li: number, bucket: number): void {
    const acc = st.acc[li]
    const dst = st.stream.data[li]
    const base = bucket * acc.length
    for (let i = 0; i < acc.length; i++) dst[base + i] = toHalf(acc[i])
    acc.fill(0)
  }

  /** The record so far; cut to the steps that ran when the generation stopped early. */
  finish(): AttentionRecord {
    if (!this.layers) throw new Error('no U-Net step was recorded')
    const steps = this.lastStep + 1
    const layers = this.layers
    const streams = this.states.map((st) => {
      layers.forEach((layer, li) => {
        if (layer.bucketSize > 1 && steps % layer.bucketSize !== 0 && steps < this.options.steps) {
          this.flush(st, li, Math.floor((steps - 1) / layer.bucketSize))
        }
      })
      const data = st.stream.data.map((d, li) => {
        const keep = bucketCount(steps, layers[li].bucketSize) * st.stream.tokens * layers[li].height * layers[li].width
        return keep === d.length ? d : d.slice(0, keep)
      })
      return { ...st.stream, data }
    })
    return {
      steps,
      timesteps: this.timesteps.slice(0, steps),
      latentHeight: this.options.latentHeight,
      latentWidth: this.options.latentWidth,
      layers,
      cond: streams[0],
      uncond: streams[1],
    }
  }
}
