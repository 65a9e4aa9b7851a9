/**
 * Builds the attention record of one generation. It is a pipeline observer
 * (src/main/engine/pipeline.ts): `start(plan)` tells it the steps, the latent size and the kept
 * tokens of each prompt; `step(call)` hands it the extra U-Net outputs after each call; `end()`
 * closes the record, cut to the steps that ran when the generation was cancelled. Created by
 * src/main/attention/trace.ts (one per traced generation); tests drive it on graphs directly.
 *
 * Each tap output is [HW, 77] float32, already the head mean of one guidance half ([heads, HW, 77]
 * when the U-Net was patched per head); we keep the first T tokens (BOS..first EOS), transpose to
 * token-major [head][T][HW], and either store each step as float16 or sum steps into the layer's
 * current bucket (see planBuckets in src/shared/attention-record.ts).
 */
import type * as ort from 'onnxruntime-node'
import type { GenerationEnd, GenerationPlan, PipelineObserver, UnetCall } from '../engine/pipeline'
import {
  bucketCount,
  layerResolution,
  layerValues,
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
  budgetBytes?: number
}

/**
 * What the recorder reads from the pipeline's plan: the steps (one per timestep), the latent size,
 * and the kept tokens of each prompt (index of the first EOS + 1). The negative prompt's maps are
 * recorded when guidance is on and the U-Net was patched with unconditional taps.
 */
export type RecorderPlan = Pick<GenerationPlan, 'timesteps' | 'latentHeight' | 'latentWidth'> & {
  encoding: { length: number }
  negativeEncoding: { length: number } | null
}

interface PlanSize {
  steps: number
  latentHeight: number
  latentWidth: number
}

interface StreamState {
  stream: AttentionStream
  /** Float32 running sums of the current bucket per layer, [T][HW]. */
  acc: Float32Array[]
  /** The guidance half the stream comes from. */
  half: 'cond' | 'uncond'
  /** The tap's output for this stream in a batch-2 call (both halves). */
  output: (tap: TapInfo) => string | undefined
  /** The output in a batch-1 call of this stream's half. */
  single: (tap: TapInfo) => string | undefined
}

export class AttentionRecorder implements PipelineObserver {
  private plan: PlanSize | undefined
  private layers: RecordLayer[] | undefined
  private states: StreamState[] = []
  private timesteps: number[] = []
  private lastStep = -1
  private result: AttentionRecord | null = null

  constructor(private readonly options: RecorderOptions) {
    if (options.taps.length === 0) throw new Error('no tapped layers to record')
  }

  /** The record of the generation, once it ended (null when it failed or ran no step). */
  get record(): AttentionRecord | null {
    return this.result
  }

  start(plan: RecorderPlan): void {
    this.plan = { steps: plan.timesteps.length, latentHeight: plan.latentHeight, latentWidth: plan.latentWidth }
    this.layers = undefined
    this.timesteps = []
    this.lastStep = -1
    this.result = null
    this.states = [
      {
        stream: { name: 'cond', tokens: plan.encoding.length, data: [] },
        acc: [],
        half: 'cond',
        output: (t) => t.output,
        single: (t) => t.output,
      },
    ]
    if (plan.negativeEncoding && this.options.taps.every((t) => t.uncondOutput)) {
      this.states.push({
        stream: { name: 'uncond', tokens: plan.negativeEncoding.length, data: [] },
        acc: [],
        half: 'uncond',
        output: (t) => t.uncondOutput,
        single: (t) => t.output,
      })
    }
    // the refined maps are computed from the conditional half inside the graph (patch-unet.ts)
    if (this.options.taps.every((t) => t.refinedOutput)) {
      this.states.push({
        stream: { name: 'refined', tokens: plan.encoding.length, data: [] },
        acc: [],
        half: 'cond',
        output: (t) => t.refinedOutput,
        single: (t) => t.refinedOutput,
      })
    }
  }

  /** Plans storage once the first step tells the layers' resolutions. */
  private init(outputs: Record<string, ort.Tensor>, plan: PlanSize): RecordLayer[] {
    const { taps } = this.options
    const { latentHeight, latentWidth, steps } = plan
    const heads: number[] = []
    const pixels = taps.map((tap) => {
      const t = outputs[tap.output]
      if (!t) throw new Error(`U-Net outputs lack the attention tap '${tap.output}'`)
      heads.push(tap.perHead ? t.dims[0] : 1)
      return t.dims[tap.perHead ? 1 : 0]
    })
    const tokensTotal = this.states.reduce((s, st) => s + st.stream.tokens, 0)
    const sizes = planBuckets(
      pixels.map((p, i) => p * heads[i]),
      steps,
      tokensTotal,
      this.options.budgetBytes ?? RECORD_BUDGET_BYTES,
    )
    const layers = taps.map((tap, i): RecordLayer => ({
      index: tap.index,
      name: tap.name,
      block: tap.block,
      blockIndex: tap.blockIndex,
      ...layerResolution(pixels[i], latentHeight, latentWidth),
      bucketSize: sizes[i],
      ...(taps[i].perHead ? { heads: heads[i] } : {}),
    }))
    for (const st of this.states) {
      st.stream.data = layers.map(
        (l, i) => new Uint16Array(bucketCount(steps, l.bucketSize) * heads[i] * st.stream.tokens * pixels[i]),
      )
      st.acc = layers.map((l, i) => new Float32Array(l.bucketSize > 1 ? heads[i] * st.stream.tokens * pixels[i] : 0))
    }
    return layers
  }

  step({ stepIndex, timestep, outputs, part }: UnetCall): void {
    const plan = this.plan
    if (!plan) throw new Error('the recorder was not started: the pipeline calls start(plan) first')
    if (stepIndex >= plan.steps) throw new Error(`step ${stepIndex} beyond the ${plan.steps} planned`)
    const layers = (this.layers ??= this.init(outputs, plan))
    if (stepIndex !== this.lastStep) {
      this.timesteps[stepIndex] = timestep
      this.lastStep = stepIndex
    }
    for (const st of this.states) {
      // with separate calls per guidance half, each call is batch 1: its '.cond' tap is that half
      if (part !== 'both' && part !== st.half) continue
      const T = st.stream.tokens
      layers.forEach((layer, li) => {
        const tap = this.options.taps[li]
        const tensor = outputs[(part === 'both' ? st.output(tap) : st.single(tap))!]
        const all = tensor.data as Float32Array
        const nh = layer.heads ?? 1
        const hw = tensor.dims[tensor.dims.length - 2]
        const tAll = tensor.dims[tensor.dims.length - 1]
        if (T > tAll) throw new Error(`record wants ${T} tokens, attention has ${tAll}`)
        for (let h = 0; h < nh; h++) {
          const src = all.subarray(h * hw * tAll, (h + 1) * hw * tAll)
          if (layer.bucketSize === 1) {
            const dst = st.stream.data[li]
            const base = (stepIndex * nh + h) * T * hw
            for (let t = 0; t < T; t++) {
              const row = base + t * hw
              for (let p = 0; p < hw; p++) dst[row + p] = toHalf(src[p * tAll + t])
            }
            continue
          }
          const acc = st.acc[li]
          for (let t = 0; t < T; t++) {
            const row = (h * T + t) * hw
            for (let p = 0; p < hw; p++) acc[row + p] += src[p * tAll + t]
          }
        }
        if (layer.bucketSize === 1) return
        const inBucket = stepIndex % layer.bucketSize
        if (inBucket === layer.bucketSize - 1 || stepIndex === plan.steps - 1)
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

  /** Closes the record; cut to the steps that ran when the generation stopped early. */
  end(outcome: GenerationEnd): void {
    const plan = this.plan
    if (!plan || !this.layers || outcome.reason === 'failed') {
      this.result = null
      return
    }
    const steps = this.lastStep + 1
    const layers = this.layers
    const streams = this.states.map((st) => {
      layers.forEach((layer, li) => {
        if (layer.bucketSize > 1 && steps % layer.bucketSize !== 0 && steps < plan.steps) {
          this.flush(st, li, Math.floor((steps - 1) / layer.bucketSize))
        }
      })
      const data = st.stream.data.map((d, li) => {
        const keep = layerValues(layers[li], steps, st.stream.tokens)
        return keep === d.length ? d : d.slice(0, keep)
      })
      return { ...st.stream, data }
    })
    this.result = {
      steps,
      timesteps: this.timesteps.slice(0, steps),
      latentHeight: plan.latentHeight,
      latentWidth: plan.latentWidth,
      layers,
      cond: streams.find((s) => s.name === 'cond')!,
      uncond: streams.find((s) => s.name === 'uncond'),
      refined: streams.find((s) => s.name === 'refined'),
    }
  }
}
