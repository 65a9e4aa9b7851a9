/**
 * DDIM (Song et al. 2021), as diffusers' DDIMScheduler: deterministic for eta = 0, with
 * `eta * sigma_t` fresh noise otherwise. Default spacing: leading.
 */
import type { SchedulerConfig } from './config'
import { alphasCumprod, arangeDown, checkStepCount, linspace, roundHalfEven } from './math'
import { checkStepArgs, requireNoise, type NoiseFn, type Scheduler } from './types'
import { predictX0AndEps } from './prediction'

/** DDIM/PNDM-style integer timesteps, descending, for the given spacing. */
export function discreteTimesteps(
  cfg: SchedulerConfig,
  steps: number,
  defaultSpacing: 'leading' | 'linspace' | 'trailing',
): Float64Array {
  const n = cfg.numTrainTimesteps
  checkStepCount(steps, n)
  const spacing = cfg.timestepSpacing ?? defaultSpacing
  const out = new Float64Array(steps)
  if (spacing === 'leading') {
    const ratio = Math.floor(n / steps)
    for (let i = 0; i < steps; i++) out[i] = (steps - 1 - i) * ratio + cfg.stepsOffset
  } else if (spacing === 'trailing') {
    const t = arangeDown(n, 0, -n / steps)
    for (let i = 0; i < steps; i++) out[i] = roundHalfEven(t[i]) - 1
  } else {
    const t = linspace(0, n - 1, steps)
    for (let i = 0; i < steps; i++) out[i] = roundHalfEven(t[steps - 1 - i])
  }
  return out
}

export class DDIMScheduler implements Scheduler {
  readonly name = 'ddim' as const
  readonly timesteps: Float64Array
  readonly sigmas = null
  readonly initNoiseSigma = 1
  readonly needsNoise: boolean
  private readonly ac: Float64Array
  private readonly finalAlpha: number
  private readonly stride: number

  constructor(
    private readonly cfg: SchedulerConfig,
    steps: number,
    private readonly eta = cfg.eta,
  ) {
    this.ac = alphasCumprod(cfg)
    this.finalAlpha = cfg.setAlphaToOne ? 1 : this.ac[0]
    this.timesteps = discreteTimesteps(cfg, steps, 'leading')
    // diffusers always steps back by N // steps, whatever the spacing.
    this.stride = Math.floor(cfg.numTrainTimesteps / steps)
    this.needsNoise = eta > 0
  }

  scaleModelInput(sample: Float32Array): Float32Array {
    return sample
  }

  step(modelOutput: Float32Array, index: number, sample: Float32Array, noise?: NoiseFn): Float32Array {
    checkStepArgs('ddim', index, this.timesteps.length, modelOutput, sample)
    const t = this.timesteps[index]
    const prevT = t - this.stride
    const aT = this.ac[t]
    const aPrev = prevT >= 0 ? this.ac[prevT] : this.finalAlpha
    const bT = 1 - aT
    const variance = ((1 - aPrev) / bT) * (1 - aT / aPrev)
    const std = this.eta * Math.sqrt(variance)
    const { x0, eps } = predictX0AndEps(this.cfg, modelOutput, sample, aT)
    if (this.cfg.clipSample) {
      const r = this.cfg.clipSampleRange
      for (let i = 0; i < x0.length; i++) x0[i] = Math.min(r, Math.max(-r, x0[i]))
      // diffusers re-derives epsilon from the clipped x0.
      const sa = Math.sqrt(aT)
      const sb = Math.sqrt(bT)
      for (let i = 0; i < x0.length; i++) eps[i] = (sample[i] - sa * x0[i]) / sb
    }
    const cX0 = Math.sqrt(aPrev)
    const cEps = Math.sqrt(Math.max(0, 1 - aPrev - std * std))
    const out = new Float32Array(sample.length)
    for (let i = 0; i < out.length; i++) out[i] = cX0 * x0[i] + cEps * eps[i]
    if (std > 0) {
      const z = requireNoise(noise, 'ddim (eta > 0)')(out.length)
      for (let i = 0; i < out.length; i++) out[i] += std * z[i]
    }
    return out
  }
}
