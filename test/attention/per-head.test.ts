/**
 * Issue 16 on the bundled U-Net: the opt-in per-head record. The patched U-Net outputs
 * [heads, HW, T] per layer; the recorder keeps [bucket][head][token][y][x]; with a small budget
 * the planner sums steps into buckets, and the all-steps DAAM maps stay what per-step storage
 * gives (float16 rounding apart). The head mean of a per-head record equals the default record.
 */
import { describe, expect, it } from 'vitest'
import { AttentionRecorder } from '../../src/main/attention/recorder'
import { loadTracedModel, traceGeneration } from '../../src/main/attention/trace'
import { layerValues } from '../../src/shared/attention-record'
import { fromHalf } from '../../src/shared/float16'
import { aggregateTokens } from '../../src/shared/heatmap/aggregate'
import { BUNDLED, loadBundled } from './bundled-model'

const INPUT = { prompt: 'a snowman with a blue scarf', seed: 9, steps: 6, guidance: 5, scheduler: 'ddim' as const }

describe('per-head record (bundled model)', () => {
  it('stores every head, plans buckets by heads x pixels, and averages to the head-mean record', async () => {
    const traced = await loadTracedModel(BUNDLED, { perHead: true, threads: 2 })
    try {
      const taps = traced.hook!.taps
      expect(taps.every((t) => t.perHead)).toBe(true)
      const small = new AttentionRecorder({ taps, budgetBytes: 60_000 })
      const g = await traceGeneration(traced, INPUT, { observers: [small] })
      const rec = g.record!
      const heads = rec.layers[0]!.heads!
      expect(heads).toBeGreaterThan(1)
      for (const [li, l] of rec.layers.entries()) {
        expect(l.heads).toBe(heads)
        expect(rec.cond.data[li]!.length).toBe(layerValues(l, rec.steps, rec.cond.tokens))
      }
      // the small budget forces buckets; DAAM's all-steps maps do not change
      const bucketed = small.record!
      expect(bucketed.layers.some((l) => l.bucketSize > 1)).toBe(true)
      const a = aggregateTokens(rec)
      const b = aggregateTokens(bucketed)
      for (let i = 0; i < a.data.length; i++) expect(Math.abs(a.data[i]! - b.data[i]!)).toBeLessThan(2e-3)

      // mean over heads = the default head-mean record of the same generation
      const plain = (await traceGeneration(await loadBundled(), INPUT)).record!
      const T = rec.cond.tokens
      rec.layers.forEach((l, li) => {
        const hw = l.height * l.width
        for (let s = 0; s < rec.steps; s++)
          for (let i = 0; i < T * hw; i++) {
            let mean = 0
            for (let h = 0; h < heads; h++) mean += fromHalf(rec.cond.data[li]![(s * heads + h) * T * hw + i]!)
            mean /= heads
            const ref = fromHalf(plain.cond.data[li]![s * T * hw + i]!)
            expect(Math.abs(mean - ref)).toBeLessThanOrEqual(2e-3 * Math.max(1e-3, Math.abs(ref)) + 1e-6)
          }
      })
      // one head alone is a different map
      const head0 = aggregateTokens(rec, { head: 0 })
      expect(head0.data).not.toEqual(a.data)
      expect(() => aggregateTokens(plain, { head: 0 })).toThrow(/head mean only/)
    } finally {
      await traced.model.release()
    }
  }, 120_000)
})
