/**
 * The record planner (planBuckets in attention-record.ts) on SDXL's real cross-attention layers at
 * 1024x1024 (latent 128^2): no attention at 128^2, 2-layer transformers at 64^2 (2 in down_blocks.1,
 * 3 in up_blocks.1), 10-layer ones at 32^2 (2 in down_blocks.2, the mid block, 3 in up_blocks.0):
 * 2*2 + 2*10 + 10 + 3*10 + 3*2 = 70 layers. 30 steps, 10 single-token words in the prompt and in
 * the negative prompt must stay within 16 MB (the budget issue 14 states; the planner's default
 * budget is 8 MB).
 */
import { describe, expect, it } from 'vitest'
import { planBuckets, recordBytes, RECORD_BUDGET_BYTES, type RecordLayer } from './attention-record'

/** SDXL's cross-attention layers in execution order, as [name, side of the latent map]. */
function sdxlLayers(latent: number): [string, number][] {
  const out: [string, number][] = []
  const block = (prefix: string, attentions: number, depth: number, side: number) => {
    for (let a = 0; a < attentions; a++)
      for (let d = 0; d < depth; d++) out.push([`${prefix}/attentions.${a}/transformer_blocks.${d}/attn2`, side])
  }
  block('down_blocks.1', 2, 2, latent / 2)
  block('down_blocks.2', 2, 10, latent / 4)
  block('mid_block', 1, 10, latent / 4)
  block('up_blocks.0', 3, 10, latent / 4)
  block('up_blocks.1', 3, 2, latent / 2)
  return out
}

describe('attention record planner on SDXL 1024x1024', () => {
  const layers = sdxlLayers(128)
  const steps = 30
  const T = 12 // BOS + 10 words + EOS, per stream
  const streams = [T, T] // prompt and negative prompt

  it('has SDXL’s 70 cross-attention layers: 10 at 64², 60 at 32²', () => {
    expect(layers.length).toBe(70)
    expect(layers.filter(([, s]) => s === 64).length).toBe(10)
    expect(layers.filter(([, s]) => s === 32).length).toBe(60)
  })

  it('30 steps, 10 words in prompt and negative prompt: within 16 MB (147 MB per step unplanned)', () => {
    const pixels = layers.map(([, s]) => s * s)
    const asLayers = (sizes: number[]): RecordLayer[] =>
      layers.map(([name, s], i) => ({
        index: i,
        name,
        block: name.startsWith('down') ? 'down' : name.startsWith('mid') ? 'mid' : 'up',
        blockIndex: Number(/\d+/.exec(name)![0]),
        height: s,
        width: s,
        bucketSize: sizes[i]!,
      }))
    const unplanned = recordBytes(asLayers(pixels.map(() => 1)), steps, streams)
    expect(unplanned).toBe(2 * steps * 2 * T * (10 * 4096 + 60 * 1024)) // 147 456 000 bytes
    const sizes = planBuckets(pixels, steps, 2 * T)
    const bytes = recordBytes(asLayers(sizes), steps, streams)
    console.log(
      `SDXL 1024² plan: 64²=${sizes[0]} steps/bucket, 32²=${sizes[4]}; ${bytes} bytes (unplanned ${unplanned})`,
    )
    expect(bytes).toBeLessThanOrEqual(RECORD_BUDGET_BYTES)
    expect(bytes).toBeLessThanOrEqual(16_000_000)
    // resolution groups share a bucket size, and some time resolution is kept
    expect(new Set(sizes.filter((_, i) => pixels[i] === 4096)).size).toBe(1)
    expect(new Set(sizes.filter((_, i) => pixels[i] === 1024)).size).toBe(1)
    // the 8 MB default keeps 2 time buckets at 64² and sums all steps at 32² (DAAM's default map is
    // exact either way); the stated 16 MB budget keeps more time resolution at both
    expect(Math.ceil(steps / sizes[0]!)).toBeGreaterThan(1)
    const sizes16 = planBuckets(pixels, steps, 2 * T, 16_000_000)
    const bytes16 = recordBytes(asLayers(sizes16), steps, streams)
    console.log(`with a 16 MB budget: 64²=${sizes16[0]} steps/bucket, 32²=${sizes16[4]}; ${bytes16} bytes`)
    expect(bytes16).toBeLessThanOrEqual(16_000_000)
    expect(Math.ceil(steps / sizes16[4]!)).toBeGreaterThan(1)
  })
})
