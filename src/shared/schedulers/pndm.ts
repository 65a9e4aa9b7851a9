/**
 * PNDM in its PLMS form with `skip_prk_steps` (the configuration Stable Diffusion 1.x ships), as
 * diffusers' PNDMScheduler.step_plms. For N steps the U-Net is called N + 1 times: the second
 * timestep is repeated to bootstrap the linear multistep history.
 */
import type { SchedulerConfig } from './config'
import { alphasCumprod, arangeDown, checkStepCount, linspace, roundHalfEven } from './math'
import { checkStepArgs, type Scheduler } from './types'

export function pndmTimesteps(cfg: SchedulerConfig, steps: number): Float64Array {
  const n = cfg.numTrainTimesteps
  checkStepCount(steps, n)
  const spacing = cfg.timestepSpacing ?? 'leading'
  const asc = new Float64Array(steps)
  if (spacing === 'leading') {
    const ratio = Math.floor(n / steps)
    for (let i = 0; i < steps; i++) asc[i] = i * ratio + cfg.stepsOffset
  } else if (spacing === 'linspace') {
    const t = linspace(0, n - 1, steps)
    for (let i = 0; i < steps; i++) asc[i] = roundHalfEven(t[i])
  } else {
    const t = arangeDown(n, 0, -n / steps)
    for (let i = 0; i < steps; i++) asc[i] = roundHalfEven(t[steps - 1 - i]) - 1
  }
  // plms = concat(ts[:-1], ts[-2:-1], ts[-1:]) reversed: [t_last, t_{last-1}, t_{last-1}, ...].
  const plms: number[] = [...asc.subarray(0, steps - 1)]
  if (steps >= 2) plms.push(asc[steps - 2])
  plms.push(asc[steps - 1])
  return Float64Array.from(plms.reverse())
}

export class PNDMScheduler implements Scheduler {
  readonly name = 'pndm' as const
  readonly timesteps: Float64Array
  readonly sigmas = null
  readonly initNoiseSigma = 1
  readonly needsNoise = false
  private readonly ac: Float64Array
  private readonly finalAlpha: number
  private readonly stride: number
  private readonly ets: Float32Array[] = []
  private counter = 0
  private curSample: Float32Array | null = null

  constructor(
    private readonly cfg: SchedulerConfig,
    steps: number,
  ) {
    this.ac = alphasCumprod(cfg)
    this.finalAlpha = cfg.setAlphaToOne ? 1 : this.ac[0]
    this.timesteps = pndmTimesteps(cfg, steps)
    this.stride = Math.floor(cfg.numTrainTimesteps / steps)
  }

  scaleModelInput(sample: Float32Array): Float32Array {
    return sample
  }

  step(modelOutput: Float32Array, index: number, sample: Float32Array): Float32Array {
    checkStepArgs('pndm', index, this.timesteps.length, modelOutput, sample)
    if (index !== this.counter) {
      throw new Error(`pndm: steps must be taken in order (expected index ${this.counter}, got ${index})`)
    }
    let t = this.timesteps[index]
    let prevT = t - this.stride
    if (this.counter !== 1) {
      if (this.ets.length > 3) this.ets.shift()
      this.ets.push(modelOutput)
    } else {
      // The repeated call: it re-evaluates from the first sample at the same target timestep.
      prevT = t
      t = t + this.stride
    }
    const n = sample.length
    const e = this.ets
    const k = e.length
    let eps: Float32Array
    let x = sample
    if (k === 1 && this.counter === 0) {
      eps = modelOutput
      this.curSample = sample
    } else if (k === 1 && this.counter === 1) {
      eps = new Float32Array(n)
      for (let i = 0; i < n; i++) eps[i] = (modelOutput[i] + e[0][i]) / 2
      x = this.curSample ?? sample
      this.curSample = null
    } else if (k === 2) {
      eps = new Float32Array(n)
      for (let i = 0; i < n; i++) eps[i] = (3 * e[1][i] - e[0][i]) / 2
    } else if (k === 3) {
      eps = new Float32Array(n)
      for (let i = 0; i < n; i++) eps[i] = (23 * e[2][i] - 16 * e[1][i] + 5 * e[0][i]) / 12
    } else {
      eps = new Float32Array(n)
      for (let i = 0; i < n; i++) eps[i] = (55 * e[3][i] - 59 * e[2][i] + 37 * e[1][i] - 9 * e[0][i]) / 24
    }
    const out = this.prevSample(x, t, prevT, eps)
    this.counter++
    return out
  }

  /** Formula (9) of the PNDM paper: x_{t-delta} from x_t and the combined epsilon. */
  private prevSample(sample: Float32Array, t: number, prevT: number, eps: Float32Array): Float32Array {
    const aT = this.ac[t]
    const aPrev = prevT >= 0 ? this.ac[prevT] : this.finalAlpha
    const bT = 1 - aT
    const bPrev = 1 - aPrev
    const n = sample.length
    let e = eps
    if (this.cfg.predictionType === 'v_prediction') {
      e = new Float32Array(n)
      const sa = Math.sqrt(aT)
      const sb = Math.sqrt(bT)
      for (let i = 0; i < n; i++) e[i] = sa * eps[i] + sb * sample[i]
    } else if (this.cfg.predictionType !== 'epsilon') {
      throw new Error(`pndm: prediction_type '${this.cfg.predictionType}' is not supported`)
    }
    const sampleCoeff = Math.sqrt(aPrev / aT)
    const denom = aT * Math.sqrt(bPrev) + Math.sqrt(aT * bT * aPrev)
    const c = (aPrev - aT) / denom
    const out = new Float32Array(n)
    for (let i = 0; i < n; i++) out[i] = sampleCoeff * sample[i] - c * e[i]
    return out
  }
}
