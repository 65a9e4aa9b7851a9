/**
 * Euler and Euler-ancestral samplers in k-diffusion's sigma parameterisation, as diffusers'
 * EulerDiscreteScheduler / EulerAncestralDiscreteScheduler (s_churn = 0). Default spacing:
 * linspace with fractional timesteps. Turbo models use one Euler step at t = 999 ("trailing").
 */
import type { SchedulerConfig } from './config'
import {
  alphasCumprod,
  arangeDown,
  checkStepCount,
  interpOnGrid,
  karrasSigmas,
  linspace,
  roundHalfEven,
  sigmaToT,
  trainingSigmas,
} from './math'
import { checkStepArgs, requireNoise, type NoiseFn, type Scheduler, type SchedulerName } from './types'

interface SigmaSchedule {
  timesteps: Float64Array
  sigmas: Float64Array
  initNoiseSigma: number
}

/** Timesteps and sigmas (with a final 0) for the Euler family. */
export function eulerSchedule(cfg: SchedulerConfig, steps: number, karras: boolean): SigmaSchedule {
  const n = cfg.numTrainTimesteps
  checkStepCount(steps, n)
  const spacing = cfg.timestepSpacing ?? 'linspace'
  let ts: Float64Array = new Float64Array(steps)
  if (spacing === 'linspace') {
    const t = linspace(0, n - 1, steps)
    for (let i = 0; i < steps; i++) ts[i] = t[steps - 1 - i]
  } else if (spacing === 'leading') {
    const ratio = Math.floor(n / steps)
    for (let i = 0; i < steps; i++) ts[i] = (steps - 1 - i) * ratio + cfg.stepsOffset
  } else {
    const t = arangeDown(n, 0, -n / steps)
    for (let i = 0; i < steps; i++) ts[i] = roundHalfEven(t[i]) - 1
  }
  const train = trainingSigmas(alphasCumprod(cfg))
  let sig: Float64Array = ts.map((t) => interpOnGrid(t, train))
  if (karras) {
    // diffusers' Euler takes the Karras range from the interpolated sigmas (not the training range).
    sig = karrasSigmas(sig[steps - 1], sig[0], steps)
    const logSigmas = train.map(Math.log)
    ts = sig.map((s) => sigmaToT(s, logSigmas))
  }
  const sigmas = new Float64Array(steps + 1)
  sigmas.set(sig)
  let max = 0
  for (const s of sigmas) max = Math.max(max, s)
  const initNoiseSigma = spacing === 'linspace' || spacing === 'trailing' ? max : Math.sqrt(max * max + 1)
  return { timesteps: ts, sigmas, initNoiseSigma }
}

/** x0 estimate in sigma space (the input sample is the unscaled latent). */
function predictX0(cfg: SchedulerConfig, out: Float32Array, sample: Float32Array, sigma: number): Float32Array {
  const x0 = new Float32Array(sample.length)
  if (cfg.predictionType === 'epsilon') {
    for (let i = 0; i < x0.length; i++) x0[i] = sample[i] - sigma * out[i]
  } else if (cfg.predictionType === 'v_prediction') {
    const c = -sigma / Math.sqrt(sigma * sigma + 1)
    const d = 1 / (sigma * sigma + 1)
    for (let i = 0; i < x0.length; i++) x0[i] = out[i] * c + sample[i] * d
  } else {
    x0.set(out)
  }
  return x0
}

export class EulerScheduler implements Scheduler {
  readonly timesteps: Float64Array
  readonly sigmas: Float64Array
  readonly initNoiseSigma: number
  readonly needsNoise: boolean

  constructor(
    private readonly cfg: SchedulerConfig,
    steps: number,
    readonly name: SchedulerName = 'euler',
  ) {
    const ancestral = name === 'euler-a'
    const effective: SchedulerConfig = name === 'turbo' ? { ...cfg, timestepSpacing: 'trailing' } : cfg
    const s = eulerSchedule(effective, name === 'turbo' ? 1 : steps, !ancestral && cfg.useKarrasSigmas)
    this.timesteps = s.timesteps
    this.sigmas = s.sigmas
    this.initNoiseSigma = s.initNoiseSigma
    this.needsNoise = ancestral
  }

  scaleModelInput(sample: Float32Array, index: number): Float32Array {
    const sigma = this.sigmas[index]
    const k = 1 / Math.sqrt(sigma * sigma + 1)
    const out = new Float32Array(sample.length)
    for (let i = 0; i < out.length; i++) out[i] = sample[i] * k
    return out
  }

  step(modelOutput: Float32Array, index: number, sample: Float32Array, noise?: NoiseFn): Float32Array {
    checkStepArgs(this.name, index, this.timesteps.length, modelOutput, sample)
    const sigma = this.sigmas[index]
    const sigmaNext = this.sigmas[index + 1]
    const x0 = predictX0(this.cfg, modelOutput, sample, sigma)
    let down = sigmaNext
    let up = 0
    if (this.needsNoise) {
      up = Math.sqrt((sigmaNext * sigmaNext * (sigma * sigma - sigmaNext * sigmaNext)) / (sigma * sigma))
      down = Math.sqrt(sigmaNext * sigmaNext - up * up)
    }
    // Euler step along the ODE derivative (sample - x0) / sigma.
    const dt = down - sigma
    const out = new Float32Array(sample.length)
    for (let i = 0; i < out.length; i++) out[i] = sample[i] + ((sample[i] - x0[i]) / sigma) * dt
    if (up > 0) {
      const z = requireNoise(noise, this.name)(out.length)
      for (let i = 0; i < out.length; i++) out[i] += z[i] * up
    }
    return out
  }
}
