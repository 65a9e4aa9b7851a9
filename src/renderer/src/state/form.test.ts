/** The prompt side's validation messages and the parameters it sends. */
import { describe, expect, it } from 'vitest'
import {
  formFrom,
  generateBlockedReason,
  initialForm,
  toParams,
  validateForm,
  withModelDefaults,
  type FormState,
} from './form'
import { GENERATION_DEFAULTS, modelGenerationDefaults, parseGenerationParams } from '../../../shared/generation'
import type { GenerationPayload, ModelSummary } from '../../../shared/ipc/payloads'

const model = { spatialMultiple: 32, width: 128, height: 128, maxTokens: 77 } as ModelSummary
const form = (patch: Partial<FormState>): FormState => ({ ...initialForm(), prompt: 'a red hat', ...patch })

describe('validateForm', () => {
  it('accepts the defaults with a prompt', () => {
    expect(validateForm(form({}), model)).toEqual({})
  })

  it('explains empty and overlong prompts', () => {
    expect(validateForm(form({ prompt: '  \n' }), model).prompt).toBe('Type a prompt first.')
    expect(validateForm(form({ prompt: 'x'.repeat(4001) }), model).prompt).toMatch(/too long: at most 4000/)
  })

  it('explains absurd steps, guidance, seed and sizes', () => {
    const e = validateForm(form({ steps: '0', guidance: '-1', seed: '1.5', width: '100', height: '99999' }), model)
    expect(e.steps).toBe('Steps must be a whole number from 1 to 200.')
    expect(e.guidance).toBe('Guidance must be a number from 0 to 50.')
    expect(e.seed).toMatch(/whole number/)
    expect(e.width).toBe("Width 100 px is not a multiple of 32 px, this model's size step (e.g. 96).")
    expect(e.height).toBe('Height 99999 px is too large: at most 2048 px.')
    expect(validateForm(form({ steps: 'lots' }), model).steps).toBeDefined()
  })

  it('ignores the seed field when the seed is random', () => {
    expect(validateForm(form({ seed: 'x', seedLocked: false }), model)).toEqual({})
  })
})

describe('initialForm', () => {
  it('starts from the shared generation defaults, which main fills in the same way', () => {
    const f = initialForm()
    expect(Number(f.steps)).toBe(GENERATION_DEFAULTS.steps)
    expect(Number(f.guidance)).toBe(GENERATION_DEFAULTS.guidance)
    expect(f.negativePrompt).toBe(GENERATION_DEFAULTS.negativePrompt)
    const { seed: _seed, ...sent } = toParams({ ...f, prompt: 'x' }, 1)
    const { seed: _s, eta: _eta, ...filled } = parseGenerationParams({ prompt: 'x' })
    expect(sent).toEqual(filled)
  })
})

describe('withModelDefaults', () => {
  const sd = modelGenerationDefaults({ className: 'PNDMScheduler' })
  const sdxlTurbo = modelGenerationDefaults({
    className: 'EulerAncestralDiscreteScheduler',
    timestepSpacing: 'trailing',
  })
  const sdTurbo = modelGenerationDefaults({ className: 'EulerDiscreteScheduler', timestepSpacing: 'trailing' })
  const sdxlBase = modelGenerationDefaults({ className: 'EulerDiscreteScheduler', timestepSpacing: 'leading' })

  it('Turbo models (Euler, trailing spacing) start at 1 step without guidance; others at the shared defaults', () => {
    expect(sdxlTurbo).toEqual({ steps: 1, guidance: 0 })
    expect(sdTurbo).toEqual({ steps: 1, guidance: 0 })
    expect(sdxlBase).toEqual({ steps: GENERATION_DEFAULTS.steps, guidance: GENERATION_DEFAULTS.guidance })
    expect(sd).toEqual(sdxlBase)
  })

  it("fields still at the old model's defaults follow the new model; typed values stay", () => {
    const turbo = withModelDefaults(initialForm(), sd, sdxlTurbo)
    expect([turbo.steps, turbo.guidance]).toEqual(['1', '0'])
    expect(withModelDefaults(turbo, sdxlTurbo, sd)).toMatchObject({ steps: '20', guidance: '7.5' })
    const typed = withModelDefaults(form({ steps: '4', guidance: '7.5' }), sd, sdxlTurbo)
    expect([typed.steps, typed.guidance]).toEqual(['4', '0'])
    expect(withModelDefaults(form({ steps: '', guidance: '3' }), sd, sdxlTurbo)).toMatchObject({
      steps: '1',
      guidance: '3',
    })
  })
})

describe('formFrom', () => {
  it('gives back the parameters a history entry was generated with', () => {
    const params: GenerationPayload['params'] = {
      prompt: 'a red hat',
      negativePrompt: '',
      seed: 7,
      steps: 12,
      guidance: 7.5,
      scheduler: 'ddim',
      width: 96,
      height: 64,
    }
    expect(formFrom(params).seedLocked).toBe(true)
    expect(toParams(formFrom(params), params.seed)).toEqual({
      prompt: 'a red hat',
      negativePrompt: '',
      seed: 7,
      steps: 12,
      guidance: 7.5,
      scheduler: 'ddim',
      width: 96,
      height: 64,
    })
  })
})

describe('generateBlockedReason', () => {
  it('says "Loading model…" while a model loads, even with a model already shown', () => {
    expect(generateBlockedReason({ model, modelLoading: true, running: false })).toBe('Loading model…')
    expect(generateBlockedReason({ model: null, modelLoading: true, running: false })).toBe('Loading model…')
  })

  it('names the missing model and the running generation; null when Generate can run', () => {
    expect(generateBlockedReason({ model: null, modelLoading: false, running: false })).toMatch(/No model loaded/)
    expect(generateBlockedReason({ model, modelLoading: false, running: true })).toMatch(/running/)
    expect(generateBlockedReason({ model, modelLoading: false, running: false })).toBeNull()
  })
})

describe('toParams', () => {
  it('leaves size and scheduler to the model when unset', () => {
    expect(toParams(form({}), 9)).toEqual({
      prompt: 'a red hat',
      negativePrompt: '',
      seed: 9,
      steps: 20,
      guidance: 7.5,
    })
    expect(toParams(form({ width: '256', height: '192', scheduler: 'ddim' }), 1)).toMatchObject({
      width: 256,
      height: 192,
      scheduler: 'ddim',
    })
  })
})
