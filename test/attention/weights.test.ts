/**
 * Word weights through the attention scale, on the bundled model (models/daam-shapes): all ones
 * leave the image as the plain U-Net draws it; a weight, or the same weight written as emphasis,
 * changes it; the step window switches it off outside its rounds; and the evidence of issue 17:
 * "red" at 0 removes the red on at least 80 % of 20 seeds, "red" at 2 does not break images.
 */
import { describe, expect, it } from 'vitest'
import { loadTracedModel, traceGeneration } from '../../src/main/attention/trace'
import { runPipeline } from '../../src/main/engine/pipeline'
import { DEMO_PROMPT } from '../../src/shared/generation'
import { colourMask, PALETTE } from '../../scripts/colour-key'
import { BUNDLED, loadBundled } from './bundled-model'

const base = { prompt: DEMO_PROMPT, steps: 20, guidance: 5, scheduler: 'ddim' as const }
const count = (m: Uint8Array) => m.reduce((n, v) => n + v, 0)
/** Pixels that key to any palette colour: the objects the world draws (a broken image has few). */
const keyed = (rgb: Uint8Array) => Object.keys(PALETTE).reduce((n, c) => n + count(colourMask(rgb, c)), 0)

describe('word weights on the bundled model', () => {
  it('all ones give the plain U-Net image; weights and emphasis change it; the window bounds it', async () => {
    const traced = await loadBundled()
    const plain = await loadTracedModel(BUNDLED, { attention: false, threads: 2 })
    try {
      const p = await runPipeline(plain.model, { ...base, seed: 42 })
      const t = await traceGeneration(traced, { ...base, seed: 42 })
      let d = 0
      for (let i = 0; i < p.latents.length; i++) d = Math.max(d, Math.abs(p.latents[i] - t.latents[i]))
      expect(d).toBeLessThanOrEqual(1e-5)
      expect(Buffer.compare(Buffer.from(p.rgb), Buffer.from(t.rgb))).toBe(0)

      const w = await traceGeneration(traced, { ...base, seed: 42, weights: { red: 0 } })
      expect(Buffer.compare(Buffer.from(w.rgb), Buffer.from(t.rgb))).not.toBe(0)
      // the same weight written as emphasis: same image, and the parentheses are no words
      const e = await traceGeneration(traced, { ...base, seed: 42, prompt: DEMO_PROMPT.replace('red', '(red:0)') })
      expect(Buffer.compare(Buffer.from(e.rgb), Buffer.from(w.rgb))).toBe(0)
      expect(e.encoding.prompt).toBe(DEMO_PROMPT)
      expect(e.encoding.words.map((x) => x.text)).toEqual(t.encoding.words.map((x) => x.text))
      // a window past the last round: the weight never applies
      const o = await traceGeneration(traced, {
        ...base,
        seed: 42,
        weights: { red: 0 },
        weightSteps: { from: 50, to: 60 },
      })
      expect(Buffer.compare(Buffer.from(o.rgb), Buffer.from(t.rgb))).toBe(0)
      // weights on a model loaded without control: a clear refusal
      await expect(runPipeline(plain.model, { ...base, weights: { red: 0 } })).rejects.toThrow(/attention control/)
      await expect(runPipeline(plain.model, { ...base, prompt: 'a (red:9) hat' })).rejects.toThrow(/outside 0\.\.3/)
    } finally {
      await plain.model.release()
    }
  }, 120_000)

  // Issue 17: "red" at 0 removes red on >= 80 % of 20 seeds. The attention scale alone did not
  // (0/20: CLIP's text encoder is causal, so "hat", EOS and padding carry "red" too); with the
  // tokens after "red" realigned from the prompt encoded without it (src/main/engine/downweight.ts)
  // the hat is drawn without its colour. The picture stays (>= 80 % of its palette pixels), and
  // "red" at 2 keeps the images whole (red kept, >= 80 % of the palette pixels kept).
  it('"red" at 0 removes the red, "red" at 2 keeps images whole (20 seeds)', async () => {
    const traced = await loadBundled()
    let withRed = 0
    let removed = 0
    let kept = 0
    let intact = 0
    const rows: string[] = []
    for (let seed = 100; seed < 120; seed++) {
      const g = await traceGeneration(traced, { ...base, seed })
      const z = await traceGeneration(traced, { ...base, seed, weights: { red: 0 } })
      const two = await traceGeneration(traced, { ...base, seed, weights: { red: 2 } })
      const r = count(colourMask(g.rgb, 'red'))
      const r0 = count(colourMask(z.rgb, 'red'))
      const r2 = count(colourMask(two.rgb, 'red'))
      rows.push(
        `seed ${seed}: red px ${r} -> red=0 ${r0}, red=2 ${r2}; keyed ${keyed(g.rgb)} -> red=0 ${keyed(z.rgb)}, red=2 ${keyed(two.rgb)}`,
      )
      if (r < 20) continue // no red hat drawn at weight 1: nothing to remove
      withRed++
      if (r0 <= 0.1 * r) removed++
      if (keyed(z.rgb) >= 0.8 * keyed(g.rgb)) kept++
      if (r2 >= 0.5 * r && keyed(two.rgb) >= 0.8 * keyed(g.rgb)) intact++
    }
    console.log(rows.join('\n'))
    console.log(
      `red drawn on ${withRed}/20 seeds; red=0 removes it on ${removed}, keeps the picture on ${kept}; red=2 intact on ${intact}`,
    )
    expect(withRed).toBeGreaterThanOrEqual(16)
    expect(removed / withRed).toBeGreaterThanOrEqual(0.8)
    expect(kept / withRed).toBeGreaterThanOrEqual(0.8)
    expect(intact / withRed).toBeGreaterThanOrEqual(0.8)
  }, 300_000)
})
