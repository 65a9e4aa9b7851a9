/**
 * The common sampler interface. A scheduler instance is made for one run (a fixed number of
 * steps) and keeps its multistep history internally, so `step` must be called once per entry of
 * `timesteps`, in order.
 *
 * Steps are addressed by index rather than by timestep value: PNDM visits the same timestep
 * twice, and Euler's timesteps are fractional, so an index is the only unambiguous key.
 */

/** Supplies `count` fresh standard-normal values (used by ancestral / eta > 0 samplers). */
export type NoiseFn = (count: number) => Float32Array

export type SchedulerName = 'ddim' | 'euler' | 'euler-a' | 'dpmpp-2m' | 'dpmpp-2m-karras' | 'pndm' | 'turbo'

export const SCHEDULER_NAMES = [
  'ddim',
  'euler',
  'euler-a',
  'dpmpp-2m',
  'dpmpp-2m-karras',
  'pndm',
  'turbo',
] as const satisfies readonly SchedulerName[]

export interface Scheduler {
  readonly name: SchedulerName
  /** Timestep given to the U-Net at each call, in call order (may be fractional for Euler). */
  readonly timesteps: Float64Array
  /** Noise levels for sigma-based samplers (length calls + 1, last is the final level); else null. */
  readonly sigmas: Float64Array | null
  /** Standard deviation the initial Gaussian latent is multiplied by. */
  readonly initNoiseSigma: number
  /** Whether `step` draws fresh noise (then a NoiseFn must be passed). */
  readonly needsNoise: boolean
  /** Input scaling before U-Net call `index`; returns `sample` itself when it is the identity. */
  scaleModelInput(sample: Float32Array, index: number): Float32Array
  /** Consumes the U-Net output of call `index` and returns the latent for the next call. */
  step(modelOutput: Float32Array, index: number, sample: Float32Array, noise?: NoiseFn): Float32Array
}

export function requireNoise(noise: NoiseFn | undefined, who: string): NoiseFn {
  if (!noise) throw new Error(`${who}: this sampler adds noise at each step; pass a noise source`)
  return noise
}

export function checkStepArgs(who: string, index: number, count: number, a: Float32Array, b: Float32Array): void {
  if (!Number.isInteger(index) || index < 0 || index >= count) {
    throw new Error(`${who}: step index ${index} out of range 0..${count - 1}`)
  }
  if (a.length !== b.length) {
    throw new Error(`${who}: model output has ${a.length} values but the sample has ${b.length}`)
  }
}
