/**
 * DPM-Solver++(2M) (Lu et al. 2022), as diffusers' DPMSolverMultistepScheduler with
 * algorithm_type "dpmsolver++", solver_type "midpoint", solver_order 2, lower_order_final, and
 * optional Karras sigmas. Works on the unscaled VP latent, so the input scaling is the identity.
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
import { checkStepArgs, type Scheduler } from './types'

export function dpmSchedule(
  cfg: SchedulerConfig,
  steps: number,
  karras: boolean,
): { timesteps: Float64Array; sigmas: Float64Array } {
  const n = cfg.numTrainTimesteps
  checkStepCount(steps, n)
  const spacing = cfg.timestepSpacing ?? 'linspace'
  let ts: Float64Array = new Float64Array(steps)
  if (spacing === 'linspace') {
    // steps + 1 points including 0, reversed, the trailing 0 dropped.
    const t = linspace(0, n - 1, steps + 1)
    for (let i = 0; i < steps; i++) ts[i] = roundHalfEven(t[steps - i])
  } else if (spacing === 'leading') {
    const ratio = Math.floor(n / (steps + 1))
    for (let i = 0; i < steps; i++) ts[i] = (steps - i) * ratio + cfg.stepsOffset
  } else {
    const t = arangeDown(n, 0, -n / steps)
    for (let i = 0; i < steps; i++) ts[i] = roundHalfEven(t[i]) - 1
  }
  const ac = alphasCumprod(cfg)
  const train = trainingSigmas(ac)
  let sig: Float64Array
  if (karras) {
    sig = karrasSigmas(train[0], train[n - 1], steps)
    const logSigmas = train.map(Math.log)
    ts = sig.map((s) => roundHalfEven(sigmaToT(s, logSigmas)))
  } else {
    sig = ts.map((t) => interpOnGrid(t, train))
  }
  const sigmas = new Float64Array(steps + 1)
  sigmas.set(sig)
  sigmas[steps] = cfg.finalSigmasType === 'sigma_min' ? Math.sqrt((1 - ac[0]) / ac[0]) : 0
  return { timesteps: ts, sigmas }
}

/** VP coefficients for a noise level: alpha_t = 1/sqrt(sigma^2+1), sigma_t = sigma * alpha_t. */
function alphaSigma(sigma: number): [number, number] {
  const a = 1 / Math.sqrt(sigma * sigma + 1)
  return [a, sigma * a]
}

export class DPMSolverPP2MScheduler implements Scheduler {
  readonly timesteps: Float64Array
  readonly sigmas: Float64Array
  readonly initNoiseSigma = 1
  readonly needsNoise = false
  private readonly history: Float32Array[] = []
  private lowerOrderNums = 0

  constructor(
    private readonly cfg: SchedulerConfig,
    steps: number,
    readonly name: 'dpmpp-2m' | 'dpmpp-2m-karras' = 'dpmpp-2m',
  ) {
    const s = dpmSchedule(cfg, steps, name === 'dpmpp-2m-karras' || cfg.useKarrasSigmas)
    this.timesteps = s.timesteps
    this.sigmas = s.sigmas
  }

  scaleModelInput(sample: Float32Array): Float32Array {
    return sample
  }

  /** Data prediction x0 from the model output at noise level sigma. */
  private toX0(out: Float32Array, sample: Float32Array, sigma: number): Float32Array {
    const [a, s] = alphaSigma(sigma)
    const x0 = new Float32Array(sample.length)
    if (this.cfg.predictionType === 'epsilon') {
      for (let i = 0; i < x0.length; i++) x0[i] = (sample[i] - s * out[i]) / a
    } else if (this.cfg.predictionType === 'v_prediction') {
      for (let i = 0; i < x0.length; i++) x0[i] = a * sample[i] - s * out[i]
    } else {
      x0.set(out)
    }
    return x0
  }

  step(modelOutput: Float32Array, index: number, sample: Float32Array): Float32Array {
    checkStepArgs(this.name, index, this.timesteps.length, modelOutput, sample)
    const count = this.timesteps.length
    const x0 = this.toX0(modelOutput, sample, this.sigmas[index])
    this.history.push(x0)
    if (this.history.length > 2) this.history.shift()

    const short = count < 15
    const lowerFinal =
      index === count - 1 && ((this.cfg.lowerOrderFinal && short) || this.cfg.finalSigmasType === 'zero')
    // diffusers' "lower_order_second" also lands in the second-order branch for solver_order 2.
    const firstOrder = this.cfg.solverOrder === 1 || this.lowerOrderNums < 1 || lowerFinal

    const [aT, sT] = alphaSigma(this.sigmas[index + 1])
    const [aS0, sS0] = alphaSigma(this.sigmas[index])
    // log(0) = -Infinity makes lambda_t = +Infinity at a zero final sigma, so exp(-h) = 0 and the
    // update returns x0 exactly, as in diffusers.
    const lambdaT = Math.log(aT) - Math.log(sT)
    const lambdaS0 = Math.log(aS0) - Math.log(sS0)
    const h = lambdaT - lambdaS0
    const ratio = sT / sS0
    const c = aT * (Math.exp(-h) - 1)
    const out = new Float32Array(sample.length)
    if (firstOrder) {
      for (let i = 0; i < out.length; i++) out[i] = ratio * sample[i] - c * x0[i]
    } else {
      const m1 = this.history[0]
      const [aS1, sS1] = alphaSigma(this.sigmas[index - 1])
      const lambdaS1 = Math.log(aS1) - Math.log(sS1)
      const r0 = (lambdaS0 - lambdaS1) / h
      for (let i = 0; i < out.length; i++) {
        const d1 = (x0[i] - m1[i]) / r0
        out[i] = ratio * sample[i] - c * x0[i] - 0.5 * c * d1
      }
    }
    if (this.lowerOrderNums < this.cfg.solverOrder) this.lowerOrderNums++
    return out
  }
}
