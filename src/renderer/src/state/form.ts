/**
 * The prompt side's settings and their validation, for App and PromptPanel. Validation happens
 * here first so people get a sentence next to the field, not a schema error; main validates again
 * (it trusts nothing) with the same rules from shared/ (generation.ts, image-size.ts).
 */
import {
  DEMO_SEED,
  GENERATION_DEFAULTS,
  MAX_GUIDANCE,
  MAX_PROMPT_CHARS,
  MAX_STEPS,
  type GenerationParamsInput,
  type ModelGenerationDefaults,
} from '../../../shared/generation'
import { checkImageSide } from '../../../shared/image-size'
import type { GenerationPayload, ModelSummary } from '../../../shared/ipc/payloads'
import { SCHEDULER_NAMES } from '../../../shared/schedulers/types'

export const SCHEDULERS = SCHEDULER_NAMES
/** Seeds the form offers and randomSeed draws: 32 bits, easy to read and type back. */
export const MAX_SEED = 2 ** 32 - 1

export interface FormState {
  prompt: string
  negativePrompt: string
  seed: string
  /** Locked: reuse the seed; unlocked: a fresh random seed per generation. */
  seedLocked: boolean
  steps: string
  guidance: string
  /** '' = the model's own scheduler. */
  scheduler: string
  width: string
  height: string
  /** Word weights 0-3 (issue 17), keyed by the word folded; 1 = unchanged (not sent). */
  weights?: Record<string, number>
}

export function initialForm(): FormState {
  return {
    prompt: '',
    negativePrompt: GENERATION_DEFAULTS.negativePrompt,
    seed: String(DEMO_SEED),
    seedLocked: true,
    steps: String(GENERATION_DEFAULTS.steps),
    guidance: String(GENERATION_DEFAULTS.guidance),
    scheduler: '',
    width: '',
    height: '',
  }
}

/**
 * The form after another model loads: steps and guidance still at the previous model's defaults
 * follow the new model's (a Turbo model starts at 1 step without guidance, and switching back
 * restores 20 and 7.5); values the user typed are kept.
 */
export function withModelDefaults(
  form: FormState,
  previous: ModelGenerationDefaults,
  next: ModelGenerationDefaults,
): FormState {
  const follows = (value: string, old: number) => value.trim() === '' || Number(value) === old
  return {
    ...form,
    steps: follows(form.steps, previous.steps) ? String(next.steps) : form.steps,
    guidance: follows(form.guidance, previous.guidance) ? String(next.guidance) : form.guidance,
  }
}

/** The form that reproduces a past generation (a history entry): its parameters, seed locked. */
export function formFrom(p: GenerationPayload['params']): FormState {
  return {
    prompt: p.prompt,
    negativePrompt: p.negativePrompt,
    seed: String(p.seed),
    seedLocked: true,
    steps: String(p.steps),
    guidance: String(p.guidance),
    scheduler: p.scheduler,
    width: String(p.width),
    height: String(p.height),
    ...(p.weights ? { weights: { ...p.weights } } : {}),
  }
}

/**
 * Why Generate cannot run right now, in words for the button's title and the note under it; null
 * when it can. A model load swaps the ONNX Runtime sessions a generation would use.
 */
export function generateBlockedReason(state: {
  model: ModelSummary | null
  modelLoading: boolean
  running: boolean
}): string | null {
  if (state.modelLoading) return 'Loading model…'
  if (!state.model) return 'No model loaded: open a model folder first.'
  if (state.running) return 'A generation is running.'
  return null
}

export type FieldErrors = Partial<Record<keyof FormState, string>>

function int(text: string): number | null {
  return /^\s*\d+\s*$/.test(text) ? Number(text) : null
}

/** Field errors for the form against the model's rules; empty when it can be generated. */
export function validateForm(form: FormState, model: ModelSummary | null): FieldErrors {
  const errors: FieldErrors = {}
  if (!form.prompt.trim()) errors.prompt = 'Type a prompt first.'
  else if (form.prompt.length > MAX_PROMPT_CHARS)
    errors.prompt = `The prompt is too long: at most ${MAX_PROMPT_CHARS} characters.`
  if (form.negativePrompt.length > MAX_PROMPT_CHARS) errors.negativePrompt = `At most ${MAX_PROMPT_CHARS} characters.`
  const seed = int(form.seed)
  if (form.seedLocked && (seed === null || seed > MAX_SEED)) errors.seed = `A whole number from 0 to ${MAX_SEED}.`
  const steps = int(form.steps)
  if (steps === null || steps < 1 || steps > MAX_STEPS)
    errors.steps = `Steps must be a whole number from 1 to ${MAX_STEPS}.`
  const guidance = Number(form.guidance)
  if (form.guidance.trim() === '' || !Number.isFinite(guidance) || guidance < 0 || guidance > MAX_GUIDANCE)
    errors.guidance = `Guidance must be a number from 0 to ${MAX_GUIDANCE}.`
  const step = model?.spatialMultiple ?? 8
  for (const key of ['width', 'height'] as const) {
    if (form[key] === '') continue // the model's default
    const problem = checkImageSide(key === 'width' ? 'Width' : 'Height', int(form[key]) ?? NaN, step)
    if (problem) errors[key] = problem
  }
  return errors
}

export function randomSeed(): number {
  const buf = new Uint32Array(1)
  crypto.getRandomValues(buf)
  return buf[0]!
}

/** Parameters for generate:start from a valid form (the seed already chosen). */
export function toParams(form: FormState, seed: number): GenerationParamsInput {
  const params: GenerationParamsInput = {
    prompt: form.prompt,
    negativePrompt: form.negativePrompt,
    seed,
    steps: Number(form.steps),
    guidance: Number(form.guidance),
  }
  if (form.scheduler) params.scheduler = form.scheduler as GenerationParamsInput['scheduler']
  if (form.width) params.width = Number(form.width)
  if (form.height) params.height = Number(form.height)
  const weights = Object.entries(form.weights ?? {}).filter(([, w]) => w !== 1)
  if (weights.length > 0) params.weights = Object.fromEntries(weights)
  return params
}
