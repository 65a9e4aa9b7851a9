/**
 * The precomputed image-guided maps' bookkeeping: which words a job asks for, which results are
 * stale, and what a click may draw from.
 */
import { describe, expect, it } from 'vitest'
import { GuidedMapCache, precomputeWords, settingsKey, type GuidedResult, type GuidedSettings } from './guided-cache'

const word = (label: string, ...tokens: number[]): { label: string; tokens: number[] } => ({ label, tokens })
const RED = word('red', 3)
const HAT = word('hat', 4)
const SCARF = word('scarf', 7, 8)
const ALL: GuidedSettings = { filter: { resolutions: [16, 8] }, stream: 'cond', normalization: 'word' }
const STEP3: GuidedSettings = { ...ALL, filter: { resolutions: [16, 8], step: 3 } }
const map = (v: number): Float32Array => new Float32Array(4).fill(v)
const ok = (job: number, tokens: string, v: number): GuidedResult => ({ job, tokens, map: map(v) })

describe('GuidedMapCache', () => {
  it('asks for each missing word once, and serves what came back under the same settings only', () => {
    const c = new GuidedMapCache()
    const a = c.want(ALL, [RED, HAT, RED, SCARF])!
    expect(a.words.map((w) => w.label)).toEqual(['red', 'hat', 'scarf'])
    // the job underway covers them: nothing new to ask
    expect(c.want(ALL, [HAT, RED])).toBeNull()
    expect(c.accept(ok(a.job, '3', 0.5))).toBe(true)
    expect(c.accept(ok(a.job, '7.8', 0.7))).toBe(true)
    expect(c.lookup(ALL, [3])).toEqual(map(0.5))
    expect(c.lookup(ALL, [7, 8])).toEqual(map(0.7))
    expect(c.lookup(ALL, [4])).toBeUndefined() // not back yet: the click computes it inline
    // the same filter object built anew (as every render does) is the same key
    expect(c.lookup({ filter: { resolutions: [16, 8] } }, [3])).toEqual(map(0.5))
    // other settings see nothing
    expect(c.lookup(STEP3, [3])).toBeUndefined()
    expect(c.lookup({ ...ALL, normalization: 'absolute' }, [3])).toBeUndefined()
    expect(c.lookup({ ...ALL, stream: 'uncond' }, [3])).toBeUndefined()
    expect(c.size).toBe(2)
  })

  it('a new word supersedes the job underway and repeats its missing words', () => {
    const c = new GuidedMapCache()
    const a = c.want(ALL, [RED, HAT])!
    expect(c.accept(ok(a.job, '3', 0.5))).toBe(true)
    const b = c.want(ALL, [RED, HAT, SCARF])!
    expect(b.job).not.toBe(a.job)
    expect(b.words.map((w) => w.label)).toEqual(['hat', 'scarf'])
    // a result of the superseded job that was already on its way is still right for these settings
    expect(c.accept(ok(a.job, '4', 0.2))).toBe(true)
    expect(c.want(ALL, [SCARF])).toBeNull()
  })

  it('drops the maps and the late results of older settings', () => {
    const c = new GuidedMapCache()
    const a = c.want(ALL, [RED, HAT])!
    expect(c.accept(ok(a.job, '3', 0.5))).toBe(true)
    const b = c.want(STEP3, [RED, HAT])!
    expect(b.words).toHaveLength(2) // nothing carried over: the step changes every map
    expect(c.accept(ok(a.job, '4', 0.2))).toBe(false) // stale: computed for ALL
    expect(c.lookup(STEP3, [4])).toBeUndefined()
    expect(c.lookup(ALL, [3])).toBeUndefined()
    expect(c.accept(ok(b.job, '4', 0.9))).toBe(true)
    expect(c.lookup(STEP3, [4])).toEqual(map(0.9))
    // back to ALL: computed again (only the current settings are kept)
    expect(c.want(ALL, [RED])!.words).toEqual([RED])
  })

  it("ignores another generation's results (jobs are numbered across caches)", () => {
    const old = new GuidedMapCache()
    const shown = new GuidedMapCache()
    const a = old.want(ALL, [RED])!
    const b = shown.want(ALL, [RED])!
    expect(b.job).not.toBe(a.job)
    expect(shown.accept(ok(a.job, '3', 0.1))).toBe(false)
    expect(shown.lookup(ALL, [3])).toBeUndefined()
  })

  it('after a failure stops asking until the settings change', () => {
    const c = new GuidedMapCache()
    const a = c.want(ALL, [RED, HAT])!
    expect(c.accept({ job: a.job, error: 'worker stopped' })).toBe(false)
    expect(c.want(ALL, [RED, HAT])).toBeNull()
    expect(c.want(STEP3, [RED])).not.toBeNull()
  })

  it('keys settings by what the maps depend on', () => {
    expect(settingsKey({})).toBe(settingsKey({ stream: 'cond', normalization: 'word', filter: {} }))
    expect(settingsKey(ALL)).not.toBe(settingsKey({ ...ALL, filter: { layers: [2] } }))
  })
})

describe('precomputeWords', () => {
  it('puts the picked words first, keeps each word once and skips empty ones', () => {
    const merged = word('red', 3, 9) // "red" typed twice: the hover averages both
    const out = precomputeWords([[HAT], [RED, HAT, SCARF, word('none')], [merged, SCARF]], 64, 64)
    expect(out.map((w) => `${w.label}:${w.tokens.join('.')}`)).toEqual(['hat:4', 'red:3', 'scarf:7.8', 'red:3.9'])
  })

  it('stops at the memory budget (float maps at image size)', () => {
    const words = Array.from({ length: 40 }, (_, i) => word(`w${i}`, i + 1))
    expect(precomputeWords([words], 512, 512)).toHaveLength(40) // 64 fit
    expect(precomputeWords([words], 1024, 1024)).toHaveLength(16)
    expect(precomputeWords([words], 4096, 4096)).toHaveLength(1) // always the picked word
  })
})
