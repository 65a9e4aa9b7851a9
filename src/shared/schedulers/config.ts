/**
 * Parsing of a diffusers `scheduler_config.json` into the numbers the samplers need.
 *
 * A diffusers config names one scheduler class but is routinely reused by another (diffusers'
 * `OtherScheduler.from_config(config)`): keys present in the file win, absent keys fall back to
 * the defaults of the scheduler actually used. That is why `timestepSpacing` may be undefined here
 * and is resolved per sampler.
 */
import { z } from 'zod'

export type BetaSchedule = 'linear' | 'scaled_linear' | 'squaredcos_cap_v2'
export type PredictionType = 'epsilon' | 'v_prediction' | 'sample'
export type TimestepSpacing = 'leading' | 'trailing' | 'linspace'

export interface SchedulerConfig {
  className: string
  numTrainTimesteps: number
  betaStart: number
  betaEnd: number
  betaSchedule: BetaSchedule
  trainedBetas: number[] | null
  predictionType: PredictionType
  /** Undefined when the file does not say: each sampler then uses its own diffusers default. */
  timestepSpacing: TimestepSpacing | undefined
  stepsOffset: number
  setAlphaToOne: boolean
  clipSample: boolean
  clipSampleRange: number
  useKarrasSigmas: boolean
  finalSigmasType: 'zero' | 'sigma_min'
  solverOrder: number
  lowerOrderFinal: boolean
  eta: number
}

const schema = z
  .object({
    _class_name: z.string().optional(),
    num_train_timesteps: z.number().int().positive().optional(),
    beta_start: z.number().positive().optional(),
    beta_end: z.number().positive().optional(),
    beta_schedule: z.enum(['linear', 'scaled_linear', 'squaredcos_cap_v2']).optional(),
    trained_betas: z.array(z.number()).nullable().optional(),
    prediction_type: z.enum(['epsilon', 'v_prediction', 'sample']).optional(),
    timestep_spacing: z.enum(['leading', 'trailing', 'linspace']).optional(),
    steps_offset: z.number().int().nonnegative().optional(),
    set_alpha_to_one: z.boolean().optional(),
    clip_sample: z.boolean().optional(),
    clip_sample_range: z.number().positive().optional(),
    use_karras_sigmas: z.boolean().nullable().optional(),
    final_sigmas_type: z.enum(['zero', 'sigma_min']).nullable().optional(),
    solver_order: z.number().int().min(1).max(2).optional(),
    lower_order_final: z.boolean().optional(),
    rescale_betas_zero_snr: z.boolean().optional(),
    eta: z.number().min(0).optional(),
  })
  .passthrough()

/**
 * Validates and normalises a parsed `scheduler_config.json`. `where` (the file path) is put in
 * every error message.
 */
export function parseSchedulerConfig(json: unknown, where = 'scheduler_config.json'): SchedulerConfig {
  const parsed = schema.safeParse(json)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    const key = issue.path.join('.') || '(root)'
    throw new Error(`${where}: invalid scheduler config at '${key}': ${issue.message}`)
  }
  const c = parsed.data
  if (c.rescale_betas_zero_snr) {
    throw new Error(`${where}: rescale_betas_zero_snr is not supported`)
  }
  const cfg: SchedulerConfig = {
    className: c._class_name ?? 'PNDMScheduler',
    numTrainTimesteps: c.num_train_timesteps ?? 1000,
    betaStart: c.beta_start ?? 0.0001,
    betaEnd: c.beta_end ?? 0.02,
    betaSchedule: c.beta_schedule ?? 'linear',
    trainedBetas: c.trained_betas ?? null,
    predictionType: c.prediction_type ?? 'epsilon',
    timestepSpacing: c.timestep_spacing,
    stepsOffset: c.steps_offset ?? 0,
    setAlphaToOne: c.set_alpha_to_one ?? false,
    clipSample: c.clip_sample ?? false,
    clipSampleRange: c.clip_sample_range ?? 1,
    useKarrasSigmas: c.use_karras_sigmas ?? false,
    finalSigmasType: c.final_sigmas_type ?? 'zero',
    solverOrder: c.solver_order ?? 2,
    lowerOrderFinal: c.lower_order_final ?? true,
    eta: c.eta ?? 0,
  }
  if (cfg.betaEnd <= cfg.betaStart && !cfg.trainedBetas && cfg.betaSchedule !== 'squaredcos_cap_v2') {
    throw new Error(`${where}: beta_end (${cfg.betaEnd}) must be greater than beta_start (${cfg.betaStart})`)
  }
  if (cfg.trainedBetas && cfg.trainedBetas.length !== cfg.numTrainTimesteps) {
    throw new Error(
      `${where}: trained_betas has ${cfg.trainedBetas.length} entries, num_train_timesteps is ${cfg.numTrainTimesteps}`,
    )
  }
  return cfg
}
