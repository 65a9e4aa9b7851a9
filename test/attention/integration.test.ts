/**
 * The headline demo on the bundled model: "a snowman wearing a red hat and a blue scarf around
 * its neck". With DAAM's default maps and masks at tau = 0.4, the "hat" mask must lie above the
 * "neck" mask and cover most of the red (hat) pixels, "neck" a good part of the blue (scarf)
 * pixels (the map follows the band; the scarf's hanging tail is blue too), and neither word may
 * light the other's accessory. Runs in every `npm test`: the model ships with the app.
 */
import { describe, expect, it } from 'vitest'
import { traceGeneration } from '../../src/main/attention/trace'
import { loadBundled } from './bundled-model'
import { Heatmaps } from '../../src/shared/heatmap/heatmaps'
import { selectWordSpecs } from '../../src/shared/heatmap/prompt-words'
import { thresholdMask } from '../../src/shared/heatmap/masks'
import { centroidY, colourMask, coverage } from '../../scripts/colour-key'
import { EVAL_GENERATION } from '../../scripts/eval'

const PROMPT = 'a snowman wearing a red hat and a blue scarf around its neck'

describe('snowman heat maps on the bundled model', () => {
  it.each([1, 2, 3])(
    'seed %i: hat above neck, hat on red, neck on blue',
    async (seed) => {
      const g = await traceGeneration(await loadBundled(), {
        prompt: PROMPT,
        seed,
        ...EVAL_GENERATION,
      })
      if (!g.record) throw new Error('no attention record')
      const red = colourMask(g.rgb, 'red')
      const blue = colourMask(g.rgb, 'blue')
      const { words } = selectWordSpecs(g.encoding, ['hat', 'neck'])
      const [hat, neck] = new Heatmaps(g.record, g.width, g.height)
        .wordMaps(words)
        .maps.map((m) => thresholdMask(m, 0.4))
      const count = (m: Uint8Array): number => m.reduce((a, b) => a + b, 0)
      const figures = {
        redPx: count(red),
        bluePx: count(blue),
        hatPx: count(hat),
        neckPx: count(neck),
        hatY: centroidY(hat, g.width),
        neckY: centroidY(neck, g.width),
        redY: centroidY(red, g.width),
        blueY: centroidY(blue, g.width),
        hatOnRed: coverage(hat, red),
        neckOnBlue: coverage(neck, blue),
        hatOnBlue: coverage(hat, blue),
        neckOnRed: coverage(neck, red),
      }
      console.log(
        `seed ${seed}: ${JSON.stringify(figures, (_k, v: unknown) => (typeof v === 'number' ? Number(v.toFixed(2)) : v))}`,
      )
      // the generator must have drawn both accessories for the check to mean anything
      expect(figures.redPx).toBeGreaterThan(20)
      expect(figures.bluePx).toBeGreaterThan(20)
      expect(figures.hatY).toBeLessThan(figures.neckY)
      expect(figures.hatOnRed).toBeGreaterThan(0.5)
      expect(figures.neckOnBlue).toBeGreaterThan(0.4)
      expect(figures.hatOnBlue).toBeLessThan(0.1)
      expect(figures.neckOnRed).toBeLessThan(0.1)
    },
    120_000,
  )
})
