/**
 * Knock-outs on the bundled model (issue 17 evidence): on the demo prompt, knocking out "hat"
 * changes the hat (the change mask overlaps the original's red pixels with IoU >= 0.5) and leaves
 * most of the image (< 25 % changed); knocking out "scarf" changes the scarf (blue pixels).
 */
import { describe, expect, it } from 'vitest'
import { knockOutAll, knockOutWord } from '../../src/main/attention/knockout'
import { traceGeneration } from '../../src/main/attention/trace'
import { thresholdMask, iou } from '../../src/shared/heatmap/masks'
import { promptWordSpecs } from '../../src/shared/heatmap/prompt-words'
import { DEMO_PROMPT, DEMO_SEED } from '../../src/shared/generation'
import { colourMask, coverage } from '../../scripts/colour-key'
import { loadBundled } from './bundled-model'

describe('knock-outs on the demo prompt', () => {
  it('"hat" changes the red hat and little else; "scarf" changes the blue scarf', async () => {
    const traced = await loadBundled()
    const g = await traceGeneration(traced, { prompt: DEMO_PROMPT, seed: DEMO_SEED })
    if (!g.record) throw new Error('no record')
    const source = { ...g, record: g.record }
    const words = promptWordSpecs(g.encoding)
    const spec = (w: string) => words.find((s) => s.label === w)!
    const hat = await knockOutWord(traced, source, spec('hat'))
    const red = colourMask(g.rgb, 'red')
    const hatMask = thresholdMask(hat.change, hat.tau)
    const hatIoU = iou(hatMask, red)
    const scarf = await knockOutWord(traced, source, spec('scarf'))
    const blue = colourMask(g.rgb, 'blue')
    const scarfMask = thresholdMask(scarf.change, scarf.tau)
    console.log(
      `hat: IoU(change, red) ${hatIoU.toFixed(3)}, change ${(100 * hat.changeSize).toFixed(1)} %, agreement ${hat.agreement.toFixed(3)}, ${hat.ms.toFixed(0)} ms\n` +
        `scarf: coverage(change, blue) ${coverage(scarfMask, blue).toFixed(3)}, IoU ${iou(scarfMask, blue).toFixed(3)}, change ${(100 * scarf.changeSize).toFixed(1)} %, agreement ${scarf.agreement.toFixed(3)}`,
    )
    expect(hatIoU).toBeGreaterThanOrEqual(0.5)
    expect(hat.changeSize).toBeLessThan(0.25)
    expect(coverage(scarfMask, blue)).toBeGreaterThanOrEqual(0.5)
    expect(scarf.changeSize).toBeLessThan(0.25)
    // the knocked-out image carries its parameters, the 0 weight included
    expect(hat.png.toString('latin1')).toContain('Weights: hat=0, Weight steps: 6-21')
  }, 120_000)

  it('knocks out all words with progress, and stops on cancel', async () => {
    const traced = await loadBundled()
    const g = await traceGeneration(traced, { prompt: 'a red circle and a blue square', seed: 5, steps: 10 })
    const source = { ...g, record: g.record! }
    const words = promptWordSpecs(g.encoding)
    const seen: string[] = []
    const all = await knockOutAll(traced, source, words, { onWord: (p) => seen.push(`${p.done}/${p.total}`) })
    expect(all.map((r) => r.word)).toEqual(words.map((w) => w.label))
    expect(seen).toEqual(words.map((_, i) => `${i + 1}/${words.length}`))
    const shares = all.reduce((s, r) => s + r.attentionShare, 0)
    expect(shares).toBeGreaterThan(0.5) // the words hold most of the prompt tokens' attention
    expect(shares).toBeLessThanOrEqual(1 + 1e-6)
    const ac = new AbortController()
    const partial = knockOutAll(traced, source, words, { signal: ac.signal, onWord: () => ac.abort() })
    await expect(partial).rejects.toThrow(/cancelled/)
  }, 120_000)
})
