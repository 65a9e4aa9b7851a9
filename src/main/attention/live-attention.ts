/**
 * The live maps' observer: a pipeline observer (src/main/engine/pipeline.ts) that, after every
 * denoising step, holds that step's attention for the prompt's kept tokens, averaged over the
 * coarsest down/up layers, as float16 (src/shared/live-attention.ts says why and how big).
 * Created by src/main/service/generator.ts for each generation of the app (the engine worker
 * attaches `take()` to the step's progress event) and by bench/live-maps.ts.
 *
 * It reads the same tap outputs the recorder copies, so it adds no ONNX Runtime fetch; its own cost
 * is one pass over the coarse layers' [HW, 77] maps per step (measured in bench/live-maps.ts).
 */
import type * as ort from 'onnxruntime-node'
import { layerResolution } from '../../shared/attention-record'
import { toHalf } from '../../shared/float16'
import type { LiveStep } from '../../shared/live-attention'
import type { GenerationPlan, PipelineObserver, UnetCall } from '../engine/pipeline'
import type { TapInfo } from './patch-unet'

interface Coarse {
  taps: TapInfo[]
  height: number
  width: number
}

export class LiveAttention implements PipelineObserver {
  private tokens = 0
  private latentHeight = 0
  private latentWidth = 0
  private coarse: Coarse | null = null
  private acc = new Float32Array(0)
  private ready: LiveStep | null = null

  constructor(private readonly taps: readonly TapInfo[]) {
    if (taps.length === 0) throw new Error('no tapped layers for live maps')
  }

  start(plan: GenerationPlan): void {
    this.tokens = plan.encoding.length
    this.latentHeight = plan.latentHeight
    this.latentWidth = plan.latentWidth
    this.coarse = null
    this.ready = null
  }

  /** The coarsest resolution outside the mid block (all layers when the export names no blocks). */
  private pick(outputs: Record<string, ort.Tensor>): Coarse {
    const sized = this.taps.map((tap) => {
      const t = outputs[tap.output]
      if (!t) throw new Error(`U-Net outputs lack the attention tap '${tap.output}'`)
      return { tap, pixels: t.dims[0] }
    })
    const noMid = sized.filter((s) => s.tap.block !== 'mid')
    const pool = noMid.length > 0 ? noMid : sized
    const min = Math.min(...pool.map((s) => s.pixels))
    const { height, width } = layerResolution(min, this.latentHeight, this.latentWidth)
    return { taps: pool.filter((s) => s.pixels === min).map((s) => s.tap), height, width }
  }

  step({ stepIndex, timestep, outputs, part }: UnetCall): void {
    if (part === 'uncond') return // the live maps show the prompt's words
    const coarse = (this.coarse ??= this.pick(outputs))
    const T = this.tokens
    const hw = coarse.height * coarse.width
    if (this.acc.length !== T * hw) this.acc = new Float32Array(T * hw)
    const acc = this.acc
    acc.fill(0)
    for (const tap of coarse.taps) {
      const tensor = outputs[tap.output]!
      const src = tensor.data as Float32Array
      const tAll = tensor.dims[1]
      for (let t = 0; t < T; t++) {
        const row = t * hw
        for (let p = 0; p < hw; p++) acc[row + p] += src[p * tAll + t]
      }
    }
    const inv = 1 / coarse.taps.length
    const data = new Uint16Array(T * hw)
    for (let i = 0; i < data.length; i++) data[i] = toHalf(acc[i] * inv)
    this.ready = {
      step: stepIndex,
      timestep,
      tokens: T,
      height: coarse.height,
      width: coarse.width,
      latentHeight: this.latentHeight,
      latentWidth: this.latentWidth,
      layers: coarse.taps.map((t) => t.index),
      data,
    }
  }

  /** The last finished step's live attention, once (null when none is waiting). */
  take(): LiveStep | null {
    const r = this.ready
    this.ready = null
    return r
  }
}
