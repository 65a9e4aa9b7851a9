/**
 * Numeric building blocks shared by the samplers, written to reproduce NumPy's semantics where
 * diffusers relies on them (np.round is round-half-to-even, np.linspace's exact formula,
 * np.interp), so the timesteps come out identical to diffusers'. All in float64.
 */
import type { SchedulerConfig } from './config'

/** np.round: ties go to the even neighbour (Math.round would send 2.5 to 3). */
/** Inference step counts outside 1..trainSteps have no schedule: say so before any maths runs. */
export function checkStepCount(steps: number, trainSteps: number): void {
  if (!Number.isInteger(steps) || steps < 1 || steps > trainSteps) {
    throw new Error(`steps must be an integer in 1..${trainSteps}, got ${steps}`)
  }
}

export function roundHalfEven(x: number): number {
  const r = Math.round(x)
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r
}

/** np.linspace(start, stop, num) with NumPy's formula: start + i*step, last element exactly stop. */
export function linspace(start: number, stop: number, num: number): Float64Array {
  const out = new Float64Array(num)
  if (num === 1) {
    out[0] = start
    return out
  }
  const step = (stop - start) / (num - 1)
  for (let i = 0; i < num; i++) out[i] = start + i * step
  out[num - 1] = stop
  return out
}

/** np.arange(start, stop, step) for a negative float step: start + i*step while > stop. */
export function arangeDown(start: number, stop: number, step: number): Float64Array {
  const count = Math.ceil((stop - start) / step)
  const out = new Float64Array(Math.max(0, count))
  for (let i = 0; i < out.length; i++) out[i] = start + i * step
  return out
}

/** Betas and the cumulative product of alphas, per the config's beta schedule. */
export function alphasCumprod(cfg: SchedulerConfig): Float64Array {
  const n = cfg.numTrainTimesteps
  let betas: Float64Array
  if (cfg.trainedBetas) {
    betas = Float64Array.from(cfg.trainedBetas)
  } else if (cfg.betaSchedule === 'linear') {
    betas = linspace(cfg.betaStart, cfg.betaEnd, n)
  } else if (cfg.betaSchedule === 'scaled_linear') {
    betas = linspace(Math.sqrt(cfg.betaStart), Math.sqrt(cfg.betaEnd), n).map((b) => b * b)
  } else {
    // Glide cosine schedule: beta_i = min(1 - abar((i+1)/n) / abar(i/n), 0.999).
    const abar = (t: number) => Math.cos(((t + 0.008) / 1.008) * Math.PI * 0.5) ** 2
    betas = new Float64Array(n)
    for (let i = 0; i < n; i++) betas[i] = Math.min(1 - abar((i + 1) / n) / abar(i / n), 0.999)
  }
  const out = new Float64Array(n)
  let acc = 1
  for (let i = 0; i < n; i++) {
    acc *= 1 - betas[i]
    out[i] = acc
  }
  return out
}

/** sigma_t = sqrt((1 - abar_t) / abar_t) for every training timestep (the k-diffusion noise level). */
export function trainingSigmas(ac: Float64Array): Float64Array {
  return ac.map((a) => Math.sqrt((1 - a) / a))
}

/** np.interp(x, arange(len(fp)), fp): linear interpolation on an integer grid, clamped at the ends. */
export function interpOnGrid(x: number, fp: Float64Array): number {
  if (x <= 0) return fp[0]
  const last = fp.length - 1
  if (x >= last) return fp[last]
  const lo = Math.floor(x)
  const w = x - lo
  return fp[lo] * (1 - w) + fp[lo + 1] * w
}

/**
 * Karras et al. (2022) noise levels: rho = 7 interpolation between sigma_max and sigma_min, as
 * diffusers' `_convert_to_karras` (sigma_min / sigma_max taken from the training sigmas).
 */
export function karrasSigmas(sigmaMin: number, sigmaMax: number, steps: number): Float64Array {
  const rho = 7
  const ramp = linspace(0, 1, steps)
  const minInv = sigmaMin ** (1 / rho)
  const maxInv = sigmaMax ** (1 / rho)
  return ramp.map((r) => (maxInv + r * (minInv - maxInv)) ** rho)
}

/**
 * Fractional training timestep whose sigma equals `sigma`, interpolating linearly in log-sigma
 * between the two neighbouring training steps (diffusers' `_sigma_to_t`).
 */
export function sigmaToT(sigma: number, logSigmas: Float64Array): number {
  const logSigma = Math.log(Math.max(sigma, 1e-10))
  // Index of the last training log-sigma <= logSigma (0 when none), clipped to len-2.
  let lowIdx = 0
  for (let i = 0; i < logSigmas.length; i++) {
    if (logSigma - logSigmas[i] >= 0) lowIdx = i
  }
  lowIdx = Math.min(lowIdx, logSigmas.length - 2)
  const low = logSigmas[lowIdx]
  const high = logSigmas[lowIdx + 1]
  let w = (low - logSigma) / (low - high)
  w = Math.min(1, Math.max(0, w))
  return (1 - w) * lowIdx + w * (lowIdx + 1)
}
