/**
 * The record's memory formula and planner for the issue-16 additions (the refined stream and the
 * per-head record) on SD 1.5's layer shapes, with the plans the docs quote.
 */
import { describe, expect, it } from 'vitest'
import { planBuckets, recordBytes, RECORD_BUDGET_BYTES, type RecordLayer } from './attention-record'

// SD 1.5 at 512 px: 16 cross-attention layers (down 64,64,32,32,16,16; mid 8; up 16x3, 32x3, 64x3)
const sd15 = [4096, 4096, 1024, 1024, 256, 256, 64, 256, 256, 256, 1024, 1024, 1024, 4096, 4096, 4096]
const layers = (sizes: number[], heads?: number): RecordLayer[] =>
  sd15.map((p, i) => ({
    index: i,
    name: `l${i}`,
    block: 'down',
    blockIndex: 0,
    height: Math.sqrt(p),
    width: Math.sqrt(p),
    bucketSize: sizes[i]!,
    ...(heads ? { heads } : {}),
  }))

describe('record memory with the issue-16 streams (SD 1.5, 512 px, 50 steps, 10-word prompt)', () => {
  const T = 12

  it('the refined stream (token maps propagated in-graph) is one more [HW, T] stream: fits 8 MB', () => {
    // the [HW, HW] self-attention never leaves the graph: 64^2 alone would be 16.7 M values per
    // layer-step (33.5 MB as float16), so storing it is affordable at 16^2 (65 536 values) and
    // 32^2 (1 M values, 2 MB) only; propagating inside the graph makes every resolution affordable
    const sizes = planBuckets(sd15, 50, 2 * T)
    const bytes = recordBytes(layers(sizes), 50, [T, T])
    expect(bytes).toBeLessThanOrEqual(RECORD_BUDGET_BYTES)
    expect([sizes[0], sizes[2], sizes[4], sizes[6]]).toEqual([25, 5, 2, 1])
    console.log(
      `cond + refined plan: 64²=${sizes[0]}, 32²=${sizes[2]}, 16²=${sizes[4]}, 8²=${sizes[6]}; ${bytes} bytes`,
    )
  })

  it('a per-head record (8 heads) fits only with coarse time buckets', () => {
    const heads = 8
    const perStep = recordBytes(
      layers(
        sd15.map(() => 1),
        heads,
      ),
      50,
      [T],
    )
    expect(perStep).toBe(2 * 50 * heads * T * 26944) // 258.7 MB
    const sizes = planBuckets(
      sd15.map((p) => p * heads),
      50,
      T,
    )
    const bytes = recordBytes(layers(sizes, heads), 50, [T])
    expect(bytes).toBeLessThanOrEqual(RECORD_BUDGET_BYTES)
    console.log(`per-head plan: 64²=${sizes[0]}, 32²=${sizes[2]}, 16²=${sizes[4]}, 8²=${sizes[6]}; ${bytes} bytes`)
  })
})
