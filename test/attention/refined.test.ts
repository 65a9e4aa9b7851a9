/**
 * Issue 16 §2 on the bundled U-Net: the `refine` patch pairs every attn2 with its own block's
 * attn1 (found by structure, checked against the exporter's names) and records the token maps
 * propagated through the self-attention's conditional head mean as a third record stream. A
 * row-stochastic propagation makes every refined value a convex combination of the layer's
 * cross-attention values at that step, which is checked on real per-step data.
 */
import * as fs from 'node:fs'
import * as path from 'node:path'
import { describe, expect, it } from 'vitest'
import { patchUnet } from '../../src/main/attention/patch-unet'
import { loadTracedModel, traceGeneration } from '../../src/main/attention/trace'
import { deserializeRecord, recordBytes, serializeRecord } from '../../src/shared/attention-record'
import { fromHalf } from '../../src/shared/float16'
import { Heatmaps } from '../../src/shared/heatmap/heatmaps'
import { BUNDLED } from './bundled-model'

describe('self-attention refined maps (bundled model)', () => {
  it('pairs each attn2 with the attn1 of the same transformer block', () => {
    const patch = patchUnet(fs.readFileSync(path.join(BUNDLED, 'unet', 'model.onnx')), { refine: true })
    expect(patch.taps.length).toBeGreaterThan(0)
    for (const tap of patch.taps) {
      expect(tap.refinedOutput).toBe(`daam.refined.${tap.index}.cond`)
      expect(tap.selfSoftmax!.replace('/attn1/', '/attn2/')).toBe(tap.softmax)
    }
    // per-head records keep the exact DAAM clamp and skip the refinement
    const perHead = patchUnet(fs.readFileSync(path.join(BUNDLED, 'unet', 'model.onnx')), {
      refine: true,
      perHead: true,
    })
    expect(perHead.taps.every((t) => t.refinedOutput === undefined)).toBe(true)
  })

  it('records a refined stream of convex combinations of the cross-attention maps', async () => {
    const traced = await loadTracedModel(BUNDLED, { refine: true, threads: 2 })
    try {
      const g = await traceGeneration(traced, {
        prompt: 'a snowman wearing a red hat',
        seed: 5,
        steps: 4,
        guidance: 5,
        scheduler: 'ddim',
      })
      const rec = deserializeRecord(serializeRecord(g.record!))
      const refined = rec.refined!
      expect(refined.tokens).toBe(rec.cond.tokens)
      expect(serializeRecord(rec).length).toBeGreaterThan(
        recordBytes(rec.layers, rec.steps, [rec.cond.tokens, refined.tokens]),
      )
      let differs = 0
      rec.layers.forEach((layer, li) => {
        expect(layer.bucketSize).toBe(1)
        const hw = layer.height * layer.width
        for (let s = 0; s < rec.steps; s++) {
          for (let t = 0; t < rec.cond.tokens; t++) {
            const o = (s * rec.cond.tokens + t) * hw
            let lo = Infinity,
              hi = -Infinity
            for (let p = 0; p < hw; p++) {
              const v = fromHalf(rec.cond.data[li][o + p])
              lo = Math.min(lo, v)
              hi = Math.max(hi, v)
            }
            for (let p = 0; p < hw; p++) {
              const r = fromHalf(refined.data[li][o + p])
              // float16 storage: one ulp of slack either side
              expect(r).toBeGreaterThanOrEqual(lo - 1e-3 * Math.abs(lo) - 1e-7)
              expect(r).toBeLessThanOrEqual(hi + 1e-3 * Math.abs(hi) + 1e-7)
              if (Math.abs(r - fromHalf(rec.cond.data[li][o + p])) > 1e-4) differs++
            }
          }
        }
      })
      expect(differs).toBeGreaterThan(0)
      const hm = new Heatmaps(rec, g.width, g.height)
      const hat = [{ label: 'hat', tokens: [6] }]
      const daam = hm.wordMaps(hat).maps[0]!
      const ref = hm.wordMaps(hat, { method: 'refined' }).maps[0]!
      expect(Math.max(...ref)).toBeCloseTo(1, 5)
      expect(ref).not.toEqual(daam)
      expect(() => hm.wordMaps(hat, { method: 'refined', stream: 'uncond' })).toThrow(/negative prompt/)
    } finally {
      await traced.model.release()
    }
  }, 120_000)
})
