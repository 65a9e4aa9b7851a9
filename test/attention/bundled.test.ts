/**
 * The hook on the bundled U-Net (models/daam-shapes): every cross-attention softmax tapped and no
 * self-attention; a real record checked against the memory formula; word matching through the
 * real tokenizer's spans. Skipped until the model folder exists.
 */
import { describe, expect, it } from 'vitest'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { scanModel } from '../../src/main/attention/onnx-scan'
import { recordBytes, layerResolution } from '../../src/shared/attention-record'
import { fromHalf } from '../../src/shared/float16'
import { heatmapWords, selectWordSpecs, promptWordSpecs } from '../../src/shared/heatmap/prompt-words'
import { aggregateTokens } from '../../src/shared/heatmap/aggregate'
import { wordLatentMap } from '../../src/shared/heatmap/word-maps'
import * as os from 'node:os'
import { writeCliHeatmaps } from '../../src/main/saving/cli-heatmaps'
import { patchUnet } from '../../src/main/attention/patch-unet'
import { traceGeneration, type TracedModel } from '../../src/main/attention/trace'
import type { GenerationParamsInput } from '../../src/shared/generation'
import { BUNDLED, loadBundled } from './bundled-model'

/** A traced DDIM generation at guidance 5 whose record must exist (the bundled model has taps). */
async function generate(traced: TracedModel, input: GenerationParamsInput) {
  const g = await traceGeneration(traced, { guidance: 5, scheduler: 'ddim', ...input })
  if (!g.record) throw new Error('no attention record')
  return { ...g, record: g.record }
}

describe('attention hook on the bundled U-Net', () => {
  it('taps every attn2 softmax and no attn1 softmax', async () => {
    const bytes = fs.readFileSync(path.join(BUNDLED, 'unet', 'model.onnx'))
    const patch = patchUnet(bytes)
    const scanned = scanModel(bytes)
    const softmax = scanned.nodes.filter((n) => n.opType === 'Softmax').map((n) => n.name)
    const attn2 = softmax.filter((n) => n.includes('/attn2/'))
    const attn1 = softmax.filter((n) => n.includes('/attn1/'))
    expect(attn2.length).toBeGreaterThanOrEqual(3)
    expect(patch.taps.map((t) => t.softmax)).toEqual(attn2)
    expect(patch.selfAttention).toBe(attn1.length)
    expect(patch.warning).toBeUndefined()
    const blocks = new Set(patch.taps.map((t) => t.block))
    expect(blocks).toEqual(new Set(['down', 'mid', 'up']))
  })

  it('records a real generation within the memory formula', async () => {
    const traced = await loadBundled(true)
    const steps = 4
    const g = await generate(traced, {
      prompt: 'a red circle and a blue square',
      seed: 3,
      steps,
      negativePrompt: 'green',
    })
    const { record, encoding } = g
    expect(record.steps).toBe(steps)
    expect(record.cond.tokens).toBe(encoding.length) // BOS + prompt tokens + first EOS
    expect(record.uncond?.tokens).toBe(3) // BOS, "green", EOS
    const stored = [...record.cond.data, ...record.uncond!.data].reduce((s, d) => s + d.byteLength, 0)
    expect(stored).toBe(recordBytes(record.layers, steps, [record.cond.tokens, record.uncond!.tokens]))
    for (const l of record.layers) {
      expect(layerResolution(l.height * l.width, 16, 16)).toEqual({ height: l.height, width: l.width })
      expect(l.bucketSize).toBe(1)
      // kept tokens carry at most all of each query's attention (padding EOS took the rest)
      const hw = l.height * l.width
      const data = record.cond.data[l.index]
      for (let p = 0; p < hw; p += 7) {
        let s = 0
        for (let t = 0; t < record.cond.tokens; t++) s += fromHalf(data[t * hw + p])
        expect(s).toBeGreaterThan(0)
        expect(s).toBeLessThanOrEqual(1.01)
      }
    }
    const sizes = [...new Set(record.layers.map((l) => l.height))].sort((a, b) => b - a)
    console.log(
      `bundled record: ${record.layers.length} layers at ${sizes.join(', ')} px, ${record.cond.tokens}+${record.uncond!.tokens} tokens, ` +
        `${steps} steps -> ${stored} bytes; per step ${stored / steps} bytes`,
    )
  })

  it('matches words on word boundaries through the tokenizer spans', async () => {
    const traced = await loadBundled()
    // "cat" and "caterpillar" are not in the bundled vocabulary (multi-token pieces); "hat" and
    // "hats" are single tokens: a short word next to a longer word it prefixes.
    const prompt = 'a cat and a caterpillar near a cat with hats and a hat'
    const enc = traced.model.tokenizer.encode(prompt)
    const { words, missing } = selectWordSpecs(enc, ['cat', 'caterpillar', 'dog', 'hat'])
    expect(missing).toEqual(['dog'])
    const [cat, caterpillar, hat] = words
    expect(caterpillar.tokens.length).toBeGreaterThan(1)
    expect(hat.tokens).toEqual(enc.words.filter((w) => w.text === 'hat').flatMap((w) => w.tokenIndices))
    expect(hat.tokens).toHaveLength(1)
    expect(enc.tokens[hat.tokens[0]]).toBe('hat</w>')
    const catWords = enc.words.filter((w) => w.text === 'cat')
    expect(catWords).toHaveLength(2)
    expect(cat.tokens).toEqual(catWords.flatMap((w) => w.tokenIndices)) // both occurrences
    expect(caterpillar.tokens.some((t) => cat.tokens.includes(t))).toBe(false) // no prefix match
    expect(promptWordSpecs(enc).map((w) => w.label)).toEqual([
      'a',
      'cat',
      'and',
      'caterpillar',
      'near',
      'with',
      'hats',
      'hat',
    ])
    expect(heatmapWords(enc, 'all').words.map((w) => w.label)).toEqual(promptWordSpecs(enc).map((w) => w.label))
    expect(heatmapWords(enc, 'hat, dog ,').missing).toEqual(['dog'])
    expect(() => heatmapWords(enc, ' , ')).toThrow(/--heatmaps/)
    const g = await generate(traced, { prompt, seed: 1, steps: 2 })
    const tm = aggregateTokens(g.record)
    const map = wordLatentMap(tm, cat)
    const n = tm.height * tm.width
    for (let i = 0; i < n; i += 5) {
      const mean = cat.tokens.reduce((s, t) => s + tm.data[t * n + i], 0) / cat.tokens.length
      expect(map[i]).toBeCloseTo(mean, 6)
    }
    console.log(`"caterpillar" tokens: ${caterpillar.tokens.map((t) => enc.tokens[t]).join(' ')}`)
  })
})

describe('CLI heat maps on the bundled model', () => {
  it("writes every word's files and rejects unknown words with the prompt's words listed", async () => {
    const prompt = 'a red circle and a blue square'
    const g = await generate(await loadBundled(), { prompt, seed: 5, steps: 3 })
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'daam-cli-'))
    const meta = await writeCliHeatmaps({
      outDir: out,
      spec: 'all',
      encoding: g.encoding,
      record: g.record,
      rgb: g.rgb,
      width: g.width,
      height: g.height,
      meta: { prompt, seed: 5, steps: 3, model: 'daam-shapes' },
    })
    expect(meta.words.map((w) => w.word)).toEqual(['a', 'red', 'circle', 'and', 'blue', 'square'])
    for (const w of meta.words) {
      expect(fs.existsSync(path.join(out, w.overlay))).toBe(true)
      expect(fs.existsSync(path.join(out, w.npy))).toBe(true)
    }
    expect(fs.existsSync(path.join(out, 'grid.png'))).toBe(true)
    expect(fs.existsSync(path.join(out, 'raw', 'index.json'))).toBe(true)
    await expect(
      writeCliHeatmaps({
        outDir: out,
        spec: 'circle,hat',
        encoding: g.encoding,
        record: g.record,
        rgb: g.rgb,
        width: g.width,
        height: g.height,
        meta: { prompt, seed: 5, steps: 3, model: 'daam-shapes' },
      }),
    ).rejects.toThrow(/not in the prompt: hat \(prompt words: a, red, circle, and, a, blue, square\)/)
    fs.rmSync(out, { recursive: true })
  })
})

describe('hook through the engine pipeline', () => {
  it('records every U-Net call of runPipeline, negative prompt included', async () => {
    const traced = await loadBundled(true)
    const g = await generate(traced, { prompt: 'a green triangle', negativePrompt: 'red', seed: 2, steps: 3 })
    expect(g.record.steps).toBe(3)
    expect(g.record.layers).toHaveLength(traced.hook!.taps.length)
    expect(g.record.cond.tokens).toBe(g.encoding.length)
    expect(g.record.uncond?.tokens).toBe(g.negativeEncoding!.length)
    const nonZero = (d: Uint16Array): boolean => d.some((v) => v !== 0)
    expect(g.record.cond.data.every(nonZero)).toBe(true)
    expect(g.record.uncond!.data.every(nonZero)).toBe(true)
    expect(g.record.timesteps).toHaveLength(3)
  })
})
