/**
 * Generation parameters shared by the UI, the IPC layer, the CLI and the engine: types, the zod
 * schema that validates them, and defaults (the renderer's form starts from them). Width/height/
 * scheduler default to the model's own values, so they stay optional here and are resolved by the
 * engine; the size rule that needs the model is `checkImageSize` (image-size.ts).
 */
import { z } from 'zod'
import { MAX_WEIGHT, MIN_WEIGHT } from './emphasis'
import { MAX_SIDE, MIN_SIDE } from './image-size'
import { SCHEDULER_NAMES } from './schedulers/types'

/**
 * The bundled model's demo: the prompt box's placeholder ("Use the example prompt") and the seed
 * the form starts with, at which the bundled model draws the snowman the README shows.
 */
export const DEMO_PROMPT = 'a snowman wearing a red hat and a blue scarf around its neck'
export const DEMO_SEED = 42

export const GENERATION_DEFAULTS = {
  negativePrompt: '',
  seed: 0,
  steps: 20,
  guidance: 7.5,
  eta: 0,
} as const

/** Steps and guidance a model runs with when the user gives none. */
export interface ModelGenerationDefaults {
  steps: number
  guidance: number
}

/**
 * The defaults for a model, from its scheduler config: the distilled Turbo models (SD-Turbo,
 * SDXL-Turbo: an Euler scheduler with "trailing" timestep spacing, as their repositories write it)
 * are made for one step without classifier-free guidance (their model cards: 1 step, guidance 0;
 * guidance 7.5 burns their images); every other model gets GENERATION_DEFAULTS. Callers: the
 * engine's resolveParams (CLI, service, knock-outs), the model summary the form reads.
 */
export function modelGenerationDefaults(scheduler: {
  className: string
  timestepSpacing?: string
}): ModelGenerationDefaults {
  const euler =
    scheduler.className === 'EulerDiscreteScheduler' || scheduler.className === 'EulerAncestralDiscreteScheduler'
  if (euler && scheduler.timestepSpacing === 'trailing') return { steps: 1, guidance: 0 }
  return { steps: GENERATION_DEFAULTS.steps, guidance: GENERATION_DEFAULTS.guidance }
}

export const MAX_STEPS = 200
export const MAX_PROMPT_CHARS = 4000
export const MAX_GUIDANCE = 50

const wordWeightsSchema = z
  .record(z.string().min(1).max(200), z.number().min(MIN_WEIGHT).max(MAX_WEIGHT))
  .refine((r) => Object.keys(r).length <= 77, { message: 'at most 77 word weights' })

export const generationParamsSchema = z.object({
  prompt: z.string().max(MAX_PROMPT_CHARS),
  negativePrompt: z.string().max(MAX_PROMPT_CHARS).default(GENERATION_DEFAULTS.negativePrompt),
  seed: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).default(GENERATION_DEFAULTS.seed),
  steps: z.number().int().min(1).max(MAX_STEPS).default(GENERATION_DEFAULTS.steps),
  /** Classifier-free guidance scale; <= 1 runs the conditional pass only. */
  guidance: z.number().min(0).max(MAX_GUIDANCE).default(GENERATION_DEFAULTS.guidance),
  /** Sampler; undefined = the one the model's scheduler_config.json names. */
  scheduler: z.enum(SCHEDULER_NAMES).optional(),
  /** Image size in pixels; undefined = the model's default (unet sample_size x VAE factor). */
  width: z.number().int().min(MIN_SIDE).max(MAX_SIDE).optional(),
  height: z.number().int().min(MIN_SIDE).max(MAX_SIDE).optional(),
  /** DDIM eta (0 = deterministic). */
  eta: z.number().min(0).max(1).default(GENERATION_DEFAULTS.eta),
  /**
   * Word weights (0-3, 1 = unchanged) on the prompt's words, keyed by the word as the tokenizer
   * folds it; they multiply any emphasis written in the prompt (`(word:1.3)`, see emphasis.ts) and
   * apply through the cross-attention scale of the conditional half.
   */
  weights: wordWeightsSchema.optional(),
  /** The same for the negative prompt's words (the unconditional half). */
  negativeWeights: wordWeightsSchema.optional(),
  /** Apply the weights only in denoising rounds from..to (0-based, inclusive); outside, weight 1. */
  weightSteps: z
    .object({ from: z.number().int().min(0).max(MAX_STEPS), to: z.number().int().min(0).max(MAX_STEPS) })
    .strict()
    .refine((w) => w.from <= w.to, { message: 'weightSteps.from must not exceed weightSteps.to' })
    .optional(),
})

/** Parameters as a caller may give them (defaults optional). */
export type GenerationParamsInput = z.input<typeof generationParamsSchema>
/** Parameters after validation and defaults. */
export type GenerationParams = z.output<typeof generationParamsSchema>

/** Validates parameters; the error names the offending field. */
export function parseGenerationParams(input: unknown): GenerationParams {
  const r = generationParamsSchema.safeParse(input)
  if (!r.success) {
    const issue = r.error.issues[0]
    throw new Error(`invalid generation parameter '${issue.path.join('.') || '(root)'}': ${issue.message}`)
  }
  return r.data
}

/** Steps whose time says little about the rest: the session's first U-Net calls are slower. */
export const WARM_UP_STEPS = 2

/** Per-step progress reported by the engine. */
export interface GenerationProgress {
  /** 1-based number of the finished denoising step. */
  step: number
  total: number
  elapsedMs: number
  /**
   * Estimated remaining time (decode not included): from the steps after the warm-up when there
   * are some, else from the latest step (an over-estimate while warming up).
   */
  etaMs: number
  /**
   * True for the first WARM_UP_STEPS steps: a fresh session's first U-Net calls run up to 2-3x
   * slower than later ones (measured, bench/warm-up.ts), so the ETA is not yet reliable.
   */
  warmingUp?: boolean
  /** Optional cheap preview (linear latent -> RGB), width x height x 3 bytes. */
  preview?: { width: number; height: number; rgb: Uint8Array }
}

export type ExecutionProviderName = 'cpu' | 'cuda' | 'dml' | 'coreml'
