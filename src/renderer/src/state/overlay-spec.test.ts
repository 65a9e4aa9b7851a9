/** Chip picking, the settings a new generation starts with, and the spec the canvas and saves draw. */
import { describe, expect, it } from 'vitest'
import { DEFAULT_OVERLAY } from '../../../shared/heatmap/overlay'
import type { WordChip } from '../../../shared/ipc/payloads'
import { EMPTY_SELECTION, nextPlayStep, nextSelection, settingsFor, toSpec, type OverlaySettings } from './overlay-spec'

const chips: WordChip[] = [
  { index: 0, text: 'a', start: 0, end: 1, tokenIndices: [1] },
  { index: 1, text: 'red', start: 2, end: 5, tokenIndices: [2] },
  { index: 3, text: 'hat', start: 6, end: 9, tokenIndices: [3, 4] },
  { index: 4, text: 'cut', start: 10, end: 13, tokenIndices: [], disabledReason: 'Truncated' },
]

describe('nextSelection', () => {
  it('a click shows one word; the same click again shows none', () => {
    const one = nextSelection(EMPTY_SELECTION, 'cond', 3, false)
    expect(one).toEqual({ stream: 'cond', indices: [3] })
    expect(nextSelection(one, 'cond', 1, false)).toEqual({ stream: 'cond', indices: [1] })
    expect(nextSelection(one, 'cond', 3, false)).toEqual({ stream: 'cond', indices: [] })
  })

  it('an additive click adds or removes a word, keeping pick order', () => {
    let sel = nextSelection(EMPTY_SELECTION, 'cond', 3, true)
    sel = nextSelection(sel, 'cond', 1, true)
    expect(sel.indices).toEqual([3, 1])
    expect(nextSelection(sel, 'cond', 3, true).indices).toEqual([1])
  })

  it('a word of the other stream starts over in that stream', () => {
    const sel = { stream: 'cond' as const, indices: [1, 3] }
    expect(nextSelection(sel, 'uncond', 0, true)).toEqual({ stream: 'uncond', indices: [0] })
  })
})

describe('settingsFor', () => {
  it('keeps the chosen look and resets the record-dependent ranges', () => {
    const first = settingsFor(null)
    expect(first).toMatchObject({ mode: DEFAULT_OVERLAY.mode, opacity: DEFAULT_OVERLAY.opacity, resolutions: [] })
    const chosen: OverlaySettings = { ...first, colormap: 'viridis', opacity: 0.8, steps: { from: 2, to: 3 }, step: 2 }
    expect(settingsFor({ steps: 20, defaultResolutions: [16, 8] }, chosen)).toEqual({
      ...chosen,
      resolutions: [16, 8],
      steps: { from: 0, to: 19 },
      step: null,
    })
  })
})

describe('settingsFor: the method', () => {
  it('keeps DAAM or the image-guided method for the next image; the refined one only with its recording', () => {
    const base = settingsFor(null)
    const rec = { steps: 4, defaultResolutions: [16] }
    expect(settingsFor(rec, { ...base, method: 'guided' }).method).toBe('guided')
    expect(settingsFor(rec, { ...base, method: 'refined' }).method).toBe('daam')
    expect(settingsFor({ ...rec, hasRefined: true }, { ...base, method: 'refined' }).method).toBe('refined')
    expect(settingsFor(rec).method).toBe('daam')
  })
})

describe('toSpec', () => {
  const settings = { ...settingsFor({ steps: 10, defaultResolutions: [8, 16] }) }

  it('is null until an enabled word is picked', () => {
    expect(toSpec(chips, EMPTY_SELECTION, settings, 10)).toBeNull()
    expect(toSpec(chips, { stream: 'cond', indices: [4] }, settings, 10)).toBeNull()
  })

  it('lists the picked words in pick order; the full range and no step leave the filter open', () => {
    const spec = toSpec(chips, { stream: 'cond', indices: [3, 4, 1] }, settings, 10)!
    expect(spec.words).toEqual([
      { label: 'hat', tokens: [3, 4] },
      { label: 'red', tokens: [2] },
    ])
    expect(spec.filter).toEqual({ resolutions: [16, 8] })
    expect(spec.stream).toBe('cond')
  })

  it('carries a narrowed step range and a scrubbed step', () => {
    const spec = toSpec(
      chips,
      { stream: 'cond', indices: [1] },
      { ...settings, steps: { from: 2, to: 5 }, step: 3 },
      10,
    )
    expect(spec!.filter).toEqual({ resolutions: [16, 8], steps: { from: 2, to: 5 }, step: 3 })
  })
})

describe('toSpec: the method', () => {
  const settings = { ...settingsFor({ steps: 10, defaultResolutions: [8, 16] }) }
  it('names a method other than DAAM; the refined one applies to prompt words only', () => {
    const cond = { stream: 'cond' as const, indices: [1] }
    const neg = { stream: 'uncond' as const, indices: [1] }
    expect(toSpec(chips, cond, settings, 10)!.method).toBeUndefined()
    expect(toSpec(chips, cond, { ...settings, method: 'guided' }, 10)!.method).toBe('guided')
    expect(toSpec(chips, neg, { ...settings, method: 'guided' }, 10)!.method).toBe('guided')
    expect(toSpec(chips, cond, { ...settings, method: 'refined' }, 10)!.method).toBe('refined')
    expect(toSpec(chips, neg, { ...settings, method: 'refined' }, 10)!.method).toBeUndefined()
  })
})

describe('nextPlayStep', () => {
  it('walks the steps and wraps around', () => {
    expect(nextPlayStep(null, 3)).toBe(0)
    expect(nextPlayStep(0, 3)).toBe(1)
    expect(nextPlayStep(2, 3)).toBe(0)
  })
})
