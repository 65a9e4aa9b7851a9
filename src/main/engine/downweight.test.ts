/**
 * The down-weighting of src/main/engine/downweight.ts on the bundled model's real text encoder
 * (models/daam-shapes, a causal CLIP): the ids without a word, the realignment of the tokens after
 * it, the lerp by the weight, and the sum over distinct weights.
 */
import * as path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { LoadedModel } from './model'
import { encodeText } from './pipeline'
import { alignedBlend, downweightEmbeddings, downweightGroups } from './downweight'
import { tokenScale } from '../../shared/emphasis'
import { DEMO_PROMPT } from '../../shared/generation'
import { maxAbsDiff } from '../../../test/helpers/max-abs-diff'

const BUNDLED = path.resolve(__dirname, '../../../models/daam-shapes')

let model: LoadedModel
beforeAll(async () => {
  model = await LoadedModel.load(BUNDLED, { threads: 1 })
})
afterAll(async () => {
  await model?.release()
})

const encode = (p: { inputIds: number[]; length: number }[]) => encodeText(model, p)
const row = (a: Float32Array, j: number, dim: number) => Array.from(a.subarray(j * dim, (j + 1) * dim))

describe('down-weighted embeddings', () => {
  it('groups tokens below 1 by weight and drops them from the ids, refilling the tail', () => {
    const ids = [9, 1, 2, 3, 4, 8, 7, 7]
    const scale = Float32Array.from([1, 0.5, 1, 0, 0.5, 1, 1, 1])
    const groups = downweightGroups(ids, scale, 6) // BOS 9 … EOS 8, then padding 7
    expect(groups.map((g) => g.weight)).toEqual([0, 0.5])
    expect(groups[0]).toEqual({ weight: 0, dropped: [3], inputIds: [9, 1, 2, 4, 8, 7, 7, 7], length: 5 })
    expect(groups[1]).toEqual({ weight: 0.5, dropped: [1, 4], inputIds: [9, 2, 3, 8, 7, 7, 7, 7], length: 4 })
    expect(downweightGroups(ids, null)).toEqual([])
    expect(downweightGroups(ids, Float32Array.from([1, 2, 1, 3, 1, 1, 1, 1]))).toEqual([]) // above 1: scale only
    expect(() => downweightGroups(ids, new Float32Array(3))).toThrow(/3 values for 8 token ids/)
  })

  it('"red" at 0: tokens after it are the prompt without "red", realigned; before it and "red" itself stay', async () => {
    const enc = model.tokenizer.encode(DEMO_PROMPT)
    const red = enc.words.find((w) => w.text === 'red')!
    const hat = enc.words.find((w) => w.text === 'hat')!
    const scale = tokenScale(enc, [], { red: 0 })!
    const full = await encode([enc])
    const dim = full.length / enc.inputIds.length
    const out = (await downweightEmbeddings(encode, [enc], [scale], full))!
    const without = await encode([model.tokenizer.encode(DEMO_PROMPT.replace('red ', ''))])
    const r = red.tokenIndices[0]
    const k = red.tokenIndices.length
    // before "red": the causal encoder never saw it
    for (let j = 0; j < r; j++) expect(row(out, j, dim)).toEqual(row(full, j, dim))
    // "red" keeps its own embedding (its attention scale is what weakens it)
    expect(row(out, r, dim)).toEqual(row(full, r, dim))
    // "hat" and every token after it (EOS, padding) read as in the prompt typed without "red"
    for (let j = hat.tokenIndices[0]; j < enc.inputIds.length; j++) {
      expect(maxAbsDiff(row(out, j, dim), row(without, j - k, dim))).toBeLessThan(1e-5)
    }
    // and "hat" did carry "red": the realignment changed it
    expect(maxAbsDiff(row(out, hat.tokenIndices[0], dim), row(full, hat.tokenIndices[0], dim))).toBeGreaterThan(0.01)
    // all ones: nothing encoded again
    expect(await downweightEmbeddings(encode, [enc], [null], full)).toBeNull()
  })

  it('a weight w lerps; two weights add their changes; each prompt of a batch gets its own', async () => {
    const enc = model.tokenizer.encode(DEMO_PROMPT)
    const neg = model.tokenizer.encode('a green circle')
    const full = await encode([neg, enc])
    const per = full.length / 2
    const dim = per / enc.inputIds.length
    const zero = (await downweightEmbeddings(encode, [enc], [tokenScale(enc, [], { red: 0 })], full.subarray(per)))!
    const quarter = (await downweightEmbeddings(encode, [neg, enc], [null, tokenScale(enc, [], { red: 0.25 })], full))!
    expect(Array.from(quarter.subarray(0, per))).toEqual(Array.from(full.subarray(0, per))) // negative: all ones
    const c = full.subarray(per)
    const expected = c.map((v, i) => v + 0.75 * (zero[i] - v))
    expect(maxAbsDiff(quarter.subarray(per), expected)).toBeLessThan(1e-5)

    // two distinct weights: one extra encoding each, changes summed
    const two = tokenScale(enc, [], { red: 0, scarf: 0.5 })!
    const groups = downweightGroups(enc.inputIds, two, enc.length)
    expect(groups.map((g) => g.weight)).toEqual([0, 0.5])
    const withouts = [] as Float32Array[]
    for (const g of groups) withouts.push(await encode([g]))
    const both = (await downweightEmbeddings(encode, [enc], [two], c))!
    const redOnly = alignedBlend(c, [groups[0]], [withouts[0]], dim)
    const scarfOnly = alignedBlend(c, [groups[1]], [withouts[1]], dim)
    expect(
      maxAbsDiff(
        both,
        c.map((v, i) => v + (redOnly[i] - v) + (scarfOnly[i] - v)),
      ),
    ).toBeLessThan(1e-5)
  })
})
