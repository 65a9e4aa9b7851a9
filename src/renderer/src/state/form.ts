/**
 * The prompt side's settings and their validation. Validation happens here first so people get a
 * sentence next to the field, not a schema error; main validates again (it trusts nothing).
 */
import { MAX_PROMPT_CHARS, MAX_STEPS, type GenerationParamsInput } from '../../../shared/generation'
import type { ModelSummary } from '../../../shared/ipc/payloads'
import { SCHEDULER_NAMES } from '../../../shared/schedulers/types'

export const SCHEDULERS = SCHEDULER_NAMES
export const MAX_SIDE = 2048
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
}

export function initialForm(): FormState {
  return {
    prompt: '',
    negativePrompt: '',
    seed: '42',
    seedLocked: true,
    steps: '20',
    guidance: '7.5',
    scheduler: '',
    width: '',
    height: '',
  }
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
  if (form.guidance.trim() === '' || !Number.isFinite(guidance) || guidance < 0 || guidance > 50)
    errors.guidance = 'Guidance must be a number from 0 to 50.'
  const m = model?.spatialMultiple ?? 8
  for (const key of ['width', 'height'] as const) {
    if (form[key] === '') continue // the model's default
    const v = int(form[key])
    const name = key === 'width' ? 'Width' : 'Height'
    if (v === null || v < m) errors[key] = `${name} must be a whole number of at least ${m} px.`
    else if (v > MAX_SIDE) errors[key] = `${name} ${v} px is too large: at most ${MAX_SIDE} px.`
    else if (v % m !== 0) errors[key] = `${name} must be a multiple of ${m} px (e.g. ${Math.round(v / m) * m || m}).`
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
  return params
}
