/** Conversions from the U-Net's output to (x0, epsilon) for each prediction type, at alpha-bar `a`. */
import type { SchedulerConfig } from './config'

export function predictX0AndEps(
  cfg: SchedulerConfig,
  modelOutput: Float32Array,
  sample: Float32Array,
  a: number,
): { x0: Float32Array; eps: Float32Array } {
  const sa = Math.sqrt(a)
  const sb = Math.sqrt(1 - a)
  const n = sample.length
  const x0 = new Float32Array(n)
  const eps = new Float32Array(n)
  if (cfg.predictionType === 'epsilon') {
    for (let i = 0; i < n; i++) {
      x0[i] = (sample[i] - sb * modelOutput[i]) / sa
      eps[i] = modelOutput[i]
    }
  } else if (cfg.predictionType === 'v_prediction') {
    for (let i = 0; i < n; i++) {
      x0[i] = sa * sample[i] - sb * modelOutput[i]
      eps[i] = sa * modelOutput[i] + sb * sample[i]
    }
  } else {
    for (let i = 0; i < n; i++) {
      x0[i] = modelOutput[i]
      eps[i] = (sample[i] - sa * modelOutput[i]) / sb
    }
  }
  return { x0, eps }
}
