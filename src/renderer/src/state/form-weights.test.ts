import { describe, expect, it } from 'vitest'
import { formFrom, initialForm, toParams } from './form'

describe('word weights in the form', () => {
  it('sends only weights other than 1, and a history entry brings its weights back', () => {
    const form = { ...initialForm(), prompt: 'a red hat', weights: { red: 0, hat: 1 } }
    expect(toParams(form, 7).weights).toEqual({ red: 0 })
    expect(toParams({ ...form, weights: { hat: 1 } }, 7).weights).toBeUndefined()
    const back = formFrom({
      prompt: 'a red hat',
      negativePrompt: '',
      seed: 7,
      steps: 20,
      guidance: 7.5,
      scheduler: 'ddim',
      width: 128,
      height: 128,
      weights: { red: 0 },
    })
    expect(back.weights).toEqual({ red: 0 })
    expect(toParams(back, 7).weights).toEqual({ red: 0 })
  })
})
