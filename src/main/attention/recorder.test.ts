import { describe, expect, it } from 'vitest'
import * as ort from 'onnxruntime-node'
import {
  deserializeRecord,
  layerResolution,
  planBuckets,
  recordBytes,
  serializeRecord,
  RECORD_BUDGET_BYTES,
  type RecordLayer,
} from '../../shared/attention-record'
import { fromHalf, toHalf } from '../../shared/float16'
import { AttentionRecorder, type RecorderPlan } from './recorder'
import { patchUnet } from './patch-unet'
import { sessionOptions } from '../engine/session-options'
import { buildSyntheticUnet, randn } from '../../../test/attention/synthetic-unet'

describe('float16', () => {
  it('rounds to nearest even and handles the edges', () => {
    expect(fromHalf(toHalf(0))).toBe(0)
    expect(fromHalf(toHalf(1))).toBe(1)
    expect(fromHalf(toHalf(0.1))).toBeCloseTo(0.1, 4)
    expect(toHalf(1 + 2 ** -11)).toBe(0x3c00) // tie -> even (1.0)
    expect(toHalf(1 + 3 * 2 ** -11)).toBe(0x3c02) // tie -> even (1 + 2^-9)
    expect(fromHalf(toHalf(65504))).toBe(65504)
    expect(fromHalf(toHalf(1e6))).toBe(Infinity)
    expect(fromHalf(toHalf(2 ** -24))).toBe(2 ** -24) // smallest subnormal
    expect(fromHalf(toHalf(2 ** -26))).toBe(0)
    expect(fromHalf(toHalf(-0.5))).toBe(-0.5)
    for (let i = 0; i < 1000; i++) {
      const v = i / 999
      expect(Math.abs(fromHalf(toHalf(v)) - v)).toBeLessThanOrEqual(2 ** -12)
    }
  })
})

describe('record memory formula', () => {
  // SD 1.5 at 512x512: 6 down (2 each at 64, 32, 16), 1 mid (8), 9 up (3 each at 16, 32, 64)
  const sd15 = [4096, 4096, 1024, 1024, 256, 256, 64, 256, 256, 256, 1024, 1024, 1024, 4096, 4096, 4096]
  const layers = (sizes: number[]): RecordLayer[] =>
    sd15.map((p, i) => ({
      index: i,
      name: `l${i}`,
      block: 'down',
      blockIndex: 0,
      height: Math.sqrt(p),
      width: Math.sqrt(p),
      bucketSize: sizes[i],
    }))

  it('SD 1.5, 512 px, 50 steps, 10-word prompt stays within 8 MB', () => {
    const T = 12 // BOS + 10 words + EOS
    const perStep = recordBytes(layers(sd15.map(() => 1)), 50, [T])
    expect(perStep).toBe(2 * 50 * 12 * 26944) // 32.3 MB: per-step storage cannot meet the budget
    const sizes = planBuckets(sd15, 50, T)
    const bytes = recordBytes(layers(sizes), 50, [T])
    expect(bytes).toBeLessThanOrEqual(RECORD_BUDGET_BYTES)
    // coarse layers keep every step, only the finest are summed over buckets of a few steps
    expect(sizes.filter((_, i) => sd15[i] <= 256)).toEqual(Array(6).fill(1))
    const fine = new Set(sizes.filter((_, i) => sd15[i] === 4096))
    expect(fine.size).toBe(1)
    // the plan documented in src/shared/attention-record.ts
    expect([sizes[0], sizes[2], sizes[4], sizes[6]]).toEqual([9, 2, 1, 1])
    expect(bytes).toBe(7_633_920)
    console.log(
      `SD 1.5 plan: bucket sizes 64²=${sizes[0]}, 32²=${sizes[2]}, 16²=${sizes[4]}, 8²=${sizes[6]}; ${bytes} bytes`,
    )
  })

  it('keeps every step when the record fits (the bundled model)', () => {
    expect(planBuckets([256, 256, 64, 16, 64, 256], 20, 12)).toEqual(Array(6).fill(1))
  })

  it('finds layer resolutions, also for non-square latents', () => {
    expect(layerResolution(64 * 96, 64, 96)).toEqual({ height: 64, width: 96 })
    expect(layerResolution(16 * 24, 64, 96)).toEqual({ height: 16, width: 24 })
    expect(layerResolution(4 * 7, 13, 25)).toEqual({ height: 4, width: 7 }) // ceil halving
    expect(() => layerResolution(100, 64, 64)).toThrow(/does not match/)
  })
})

/** The plan the pipeline would announce: `steps` timesteps, a 4 x 6 latent, the kept tokens. */
function plan(steps: number, condTokens: number, uncondTokens?: number): RecorderPlan {
  return {
    timesteps: Array.from({ length: steps }, (_, s) => 900 - s),
    latentHeight: 4,
    latentWidth: 6,
    encoding: { length: condTokens },
    negativeEncoding: uncondTokens === undefined ? null : { length: uncondTokens },
  }
}

async function runSynthetic(steps: number, budget?: number, negative = false) {
  const patch = patchUnet(buildSyntheticUnet({ layout: '3d' }), { negative: true })
  const session = await ort.InferenceSession.create(patch.model, sessionOptions())
  const T = 5
  const rec = new AttentionRecorder({ taps: patch.taps, budgetBytes: budget })
  rec.start(plan(steps, 4, negative ? 3 : undefined))
  const raw: Record<string, Float32Array>[] = []
  for (let s = 0; s < steps; s++) {
    const out = await session.run({
      sample: new ort.Tensor('float32', randn(2 * 4 * 24, 10 + s), [2, 4, 4, 6]),
      timestep: new ort.Tensor('int64', BigInt64Array.from([900n - BigInt(s), 900n - BigInt(s)]), [2]),
      encoder_hidden_states: new ort.Tensor('float32', randn(2 * T * 6, 2), [2, T, 6]),
    })
    raw.push(Object.fromEntries(Object.entries(out).map(([k, v]) => [k, v.data as Float32Array])))
    rec.step({ stepIndex: s, timestep: 900 - s, outputs: out, part: 'both' })
  }
  rec.end({ reason: 'done', completedSteps: steps })
  return { patch, record: rec.record!, raw, T }
}

describe('recorder on a real session', () => {
  it('stores each step per layer and token (padding dropped) at native resolution', async () => {
    const { patch, record, raw, T } = await runSynthetic(3, undefined, true)
    expect(record.steps).toBe(3)
    expect(record.timesteps).toEqual([900, 899, 898])
    expect(record.layers.map((l) => [l.height, l.width, l.bucketSize])).toEqual([
      [4, 6, 1],
      [2, 3, 1],
      [4, 6, 1],
    ])
    expect(record.cond.tokens).toBe(4)
    expect(record.uncond?.tokens).toBe(3)
    // value of step 2, layer 1, token 3, pixel (y=1, x=2) equals the tap output [HW, T]
    const hw = 6
    const stored = fromHalf(record.cond.data[1][(2 * 4 + 3) * hw + 1 * 3 + 2])
    const expected = raw[2][patch.taps[1].output][(1 * 3 + 2) * T + 3]
    expect(stored).toBeCloseTo(expected, 3)
    const u = fromHalf(record.uncond!.data[0][(1 * 3 + 0) * 24 + 7])
    expect(u).toBeCloseTo(raw[1][patch.taps[0].uncondOutput!][7 * T + 0], 3)
    const bytes = recordBytes(record.layers, record.steps, [4, 3])
    expect(record.cond.data.concat(record.uncond!.data).reduce((s, d) => s + d.byteLength, 0)).toBe(bytes)
  })

  it('sums steps into buckets when the budget demands it', async () => {
    const { patch, record, raw, T } = await runSynthetic(5, 1500)
    expect(recordBytes(record.layers, 5, [4])).toBeLessThanOrEqual(1500)
    const big = record.layers[0]
    expect(big.bucketSize).toBe(2)
    expect(record.layers[1].bucketSize).toBe(1)
    // bucket 0 of layer 0 = sum of its steps
    let sum = 0
    for (let s = 0; s < big.bucketSize; s++) sum += raw[s][patch.taps[0].output][0 * T + 1]
    expect(fromHalf(record.cond.data[0][1 * 24 + 0])).toBeCloseTo(sum, 2)
  })

  it('serialises and deserialises exactly; rejects damaged bytes', async () => {
    const { record } = await runSynthetic(2, undefined, true)
    const bytes = serializeRecord(record)
    expect(new TextDecoder().decode(bytes.subarray(0, 8))).toBe('DAAMREC1')
    const back = deserializeRecord(bytes)
    expect(back).toEqual(record)
    expect(() => deserializeRecord(bytes.subarray(0, bytes.length - 2))).toThrow(/truncated/)
    const bad = Uint8Array.from(bytes)
    bad[0] = 0
    expect(() => deserializeRecord(bad)).toThrow(/magic/)
  })
})

describe('recorder when a generation is cancelled', () => {
  it('cuts the record to the steps that ran, flushing a partial bucket', async () => {
    const patch = patchUnet(buildSyntheticUnet({ layout: '4d' }))
    const session = await ort.InferenceSession.create(patch.model, sessionOptions())
    const rec = new AttentionRecorder({ taps: patch.taps, budgetBytes: 2000 })
    rec.start(plan(10, 4))
    const firsts: number[] = []
    for (let s = 0; s < 3; s++) {
      const out = await session.run({
        sample: new ort.Tensor('float32', randn(96, 20 + s), [1, 4, 4, 6]),
        timestep: new ort.Tensor('int64', BigInt64Array.from([BigInt(900 - s)]), [1]),
        encoder_hidden_states: new ort.Tensor('float32', randn(30, 3), [1, 5, 6]),
      })
      firsts.push((out[patch.taps[0].output].data as Float32Array)[0])
      rec.step({ stepIndex: s, timestep: 900 - s, outputs: out, part: 'both' })
    }
    rec.end({ reason: 'cancelled', completedSteps: 3 })
    const record = rec.record!
    expect(record.steps).toBe(3)
    const l0 = record.layers[0]
    expect(l0.bucketSize).toBeGreaterThan(1)
    expect(record.cond.data[0].length).toBe(Math.ceil(3 / l0.bucketSize) * 4 * 24)
    // the bucket holding step 2 has the sum of its steps, although it never completed
    const b = Math.floor(2 / l0.bucketSize)
    const expected = firsts.slice(b * l0.bucketSize, 3).reduce((a, v) => a + v, 0)
    expect(fromHalf(record.cond.data[0][b * 4 * 24])).toBeCloseTo(expected, 2)
  })
})
