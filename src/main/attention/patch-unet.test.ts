import { describe, expect, it } from 'vitest'
import * as ort from 'onnxruntime-node'
import { onnx } from 'onnx-proto'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { buildSyntheticUnet, randn } from '../../../test/attention/synthetic-unet'
import { describeLayer, patchUnet, FUSED_ATTENTION_MESSAGE } from './patch-unet'
import { sessionOptions } from '../engine/session-options'
import { prepareAttentionHook } from './hook'
import { fromHalf, toHalf } from '../../shared/float16'
import { toFloat32IO } from '../engine/float32-io'
import { maxAbsDiff } from '../../../test/helpers/max-abs-diff'

const H = 4,
  W = 6,
  T = 5,
  D = 6,
  HEADS = 2

function feeds(B: number): Record<string, ort.Tensor> {
  return {
    sample: new ort.Tensor('float32', randn(B * 4 * H * W, 1), [B, 4, H, W]),
    timestep: new ort.Tensor('int64', BigInt64Array.from(Array(B).fill(10n)), [B]),
    encoder_hidden_states: new ort.Tensor('float32', randn(B * T * D, 2), [B, T, D]),
  }
}

/** Softmax over the last axis then mean over heads of batch element b, all in JS. */
function expectedMap(scores: ort.Tensor, b: number, heads: number): Float32Array {
  const data = scores.data as Float32Array
  const t = scores.dims[scores.dims.length - 1]
  const hw = scores.dims[scores.dims.length - 2]
  const out = new Float32Array(hw * t)
  for (let h = 0; h < heads; h++) {
    const base = (b * heads + h) * hw * t // same offset for [B*heads,HW,T] and [B,heads,HW,T]
    for (let q = 0; q < hw; q++) {
      const row = base + q * t
      let max = -Infinity
      for (let k = 0; k < t; k++) max = Math.max(max, data[row + k])
      let sum = 0
      for (let k = 0; k < t; k++) sum += Math.exp(data[row + k] - max)
      for (let k = 0; k < t; k++) out[q * t + k] += Math.exp(data[row + k] - max) / sum / heads
    }
  }
  return out
}

describe.each([
  ['3d', 17],
  ['4d', 17],
  ['3d', 18], // opset 18 takes ReduceMean axes as an input
  ['4d', 18],
] as const)('graph surgery, %s layout, opset %i', (layout, opset) => {
  const bytes = buildSyntheticUnet({ layout, opset, exposeScores: true, heads: HEADS })
  const copy = Buffer.from(bytes)
  const patch = patchUnet(bytes, { negative: true })

  it('taps every cross-attention and no self-attention', () => {
    expect(patch.taps.map((t) => t.name)).toEqual([
      'down_blocks.0/attentions.0/transformer_blocks.0/attn2',
      'mid_block/attentions.0/transformer_blocks.0/attn2',
      'up_blocks.0/attentions.0/transformer_blocks.0/attn2',
    ])
    expect(patch.taps.map((t) => [t.block, t.blockIndex])).toEqual([
      ['down', 0],
      ['mid', 0],
      ['up', 0],
    ])
    expect(patch.selfAttention).toBe(3)
    expect(patch.unrecognised).toBe(0)
    expect(patch.warning).toBeUndefined()
    expect(Buffer.compare(Buffer.from(bytes), copy)).toBe(0) // original untouched
  })

  it.each([2, 1])('tapped outputs equal the JS head-mean of the softmax (batch %i)', async (B) => {
    const session = await ort.InferenceSession.create(patch.model, sessionOptions())
    const plain = await ort.InferenceSession.create(bytes, sessionOptions())
    const f = feeds(B)
    const out = await session.run(f)
    const ref = await plain.run(f)
    // the image output is unchanged by the hook
    expect(maxAbsDiff(out.out_sample.data as Float32Array, ref.out_sample.data as Float32Array)).toBe(0)
    const scoreNames = session.outputNames.filter((n) => n.includes('/attn2/'))
    expect(scoreNames).toHaveLength(3)
    const hws = [H * W, (H / 2) * (W / 2), H * W]
    patch.taps.forEach((tap, i) => {
      const cond = out[tap.output]
      expect(cond.dims).toEqual([hws[i], T])
      expect(maxAbsDiff(cond.data as Float32Array, expectedMap(out[scoreNames[i]], B - 1, HEADS))).toBeLessThan(1e-6)
      const uncond = out[tap.uncondOutput!]
      expect(maxAbsDiff(uncond.data as Float32Array, expectedMap(out[scoreNames[i]], 0, HEADS))).toBeLessThan(1e-6)
      if (B === 2) expect(maxAbsDiff(cond.data as Float32Array, uncond.data as Float32Array)).toBeGreaterThan(1e-3)
      // rows are probability distributions over the text tokens
      const row0 = Array.from((cond.data as Float32Array).subarray(0, T)).reduce((a, b) => a + b, 0)
      expect(row0).toBeCloseTo(1, 5)
    })
  })
})

describe('graph surgery on special models', () => {
  it('finds external data when the patched model is loaded from a buffer', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'daam-ext-'))
    const bytes = buildSyntheticUnet({ layout: '4d', externalData: { dir, file: 'model.onnx_data' } })
    fs.writeFileSync(path.join(dir, 'model.onnx'), bytes)
    expect(fs.statSync(path.join(dir, 'model.onnx_data')).size).toBeGreaterThan(1000)
    const patch = patchUnet(fs.readFileSync(path.join(dir, 'model.onnx')))
    expect(patch.taps).toHaveLength(3)
    await expect(ort.InferenceSession.create(patch.model, sessionOptions())).rejects.toThrow(/[Ee]xternal data/)
    const session = await ort.InferenceSession.create(patch.model, sessionOptions({ externalDataDir: dir }))
    const ref = await ort.InferenceSession.create(path.join(dir, 'model.onnx'), sessionOptions())
    const f = feeds(2)
    const out = await session.run(f)
    const expected = await ref.run(f)
    expect(maxAbsDiff(out.out_sample.data as Float32Array, expected.out_sample.data as Float32Array)).toBe(0)
    expect(out[patch.taps[0].output].dims).toEqual([H * W, T])
    fs.rmSync(dir, { recursive: true })
  })

  it('recomputes the maps of a fused-attention model, equal to the unfused taps, output unchanged', async () => {
    // Same weights as the unfused graph: only the attention blocks are MultiHeadAttention nodes.
    const fusedBytes = buildSyntheticUnet({ layout: '3d', fused: true, heads: HEADS })
    const fused = patchUnet(fusedBytes, { negative: true })
    const plain = patchUnet(buildSyntheticUnet({ layout: '3d', heads: HEADS }), { negative: true })
    expect(fused.warning).toBeUndefined()
    expect(fused.taps.map((t) => [t.name, t.recomputed])).toEqual(plain.taps.map((t) => [t.name, true]))
    const [f, p, raw] = await Promise.all(
      [fused.model, plain.model, fusedBytes].map(async (m) =>
        (await ort.InferenceSession.create(m, sessionOptions())).run(feeds(2)),
      ),
    )
    fused.taps.forEach((tap, i) => {
      expect(f[tap.output].dims).toEqual([[H * W, (H / 2) * (W / 2), H * W][i], T])
      expect(maxAbsDiff(f[tap.output].data as Float32Array, p[plain.taps[i].output].data as Float32Array)).toBeLessThan(
        1e-6,
      )
      const uncond = f[tap.uncondOutput!].data as Float32Array
      expect(maxAbsDiff(uncond, p[plain.taps[i].uncondOutput!].data as Float32Array)).toBeLessThan(1e-6)
    })
    expect(maxAbsDiff(f.out_sample.data as Float32Array, raw.out_sample.data as Float32Array)).toBe(0)
  })

  it('recomputes float16 fused maps in float32, equal to the unfused float16 softmax to its precision', async () => {
    const fused = patchUnet(buildSyntheticUnet({ layout: '3d', fused: true, float16: true, heads: HEADS }))
    const plain = patchUnet(buildSyntheticUnet({ layout: '3d', float16: true, heads: HEADS }))
    const [f, p] = await Promise.all(
      [fused.model, plain.model].map(async (m) =>
        (await ort.InferenceSession.create(toFloat32IO(m), sessionOptions())).run(feeds(2)),
      ),
    )
    expect(fused.taps).toHaveLength(3)
    fused.taps.forEach((tap, i) => {
      // the unfused graph's softmax runs in float16 (about 3 decimal digits), the branch in float32
      const diff = maxAbsDiff(f[tap.output].data as Float32Array, p[plain.taps[i].output].data as Float32Array)
      expect(diff).toBeLessThan(1e-3)
    })
  })

  it('explains a fused model whose cross-attention cannot be recomputed and leaves it generating', async () => {
    // No MultiHeadAttention takes its key from the text: here the key input is dropped (K = Q).
    const bytes = buildSyntheticUnet({ layout: '3d', fused: true })
    const m = onnx.ModelProto.decode(bytes)
    for (const n of m.graph!.node!)
      if (n.opType === 'MultiHeadAttention') n.input = [n.input![0], n.input![0], n.input![0]]
    const patch = patchUnet(onnx.ModelProto.encode(m).finish())
    expect(patch.taps).toEqual([])
    expect(patch.warning).toBe(FUSED_ATTENTION_MESSAGE)
    expect(patch.warning).toMatch(/MultiHeadAttention.*cannot be recomputed.*no heat maps/s)
    const session = await ort.InferenceSession.create(patch.model, sessionOptions())
    const out = await session.run(feeds(2))
    expect(out.out_sample.dims).toEqual([2, 4, H, W])
  })

  it('rejects bytes that are not a model', () => {
    expect(() => patchUnet(new Uint8Array([8, 1, 16, 2]))).toThrow(/no graph/)
  })
})

describe('prepareAttentionHook (engine entry point)', () => {
  it('patches a model file and lists the extra outputs', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'daam-hook-'))
    const file = path.join(dir, 'model.onnx')
    fs.writeFileSync(file, buildSyntheticUnet({ layout: '3d' }))
    const hook = prepareAttentionHook(file, { negative: true })
    expect(hook.warning).toBeUndefined()
    const outputNames = hook.taps.flatMap((t) => [t.output, t.uncondOutput])
    expect(outputNames).toEqual([
      'daam.attn.0.cond',
      'daam.attn.0.uncond',
      'daam.attn.1.cond',
      'daam.attn.1.uncond',
      'daam.attn.2.cond',
      'daam.attn.2.uncond',
    ])
    const session = await ort.InferenceSession.create(hook.model, sessionOptions({ externalDataDir: dir }))
    expect(session.outputNames).toEqual(['out_sample', ...outputNames])
    // fetching only out_sample generates without touching the taps
    const out = await session.run(feeds(2), ['out_sample'])
    expect(Object.keys(out)).toEqual(['out_sample'])
    fs.rmSync(dir, { recursive: true })
  })

  it('never blocks generation: an unparseable graph falls back to the original bytes with a message', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'daam-hook-'))
    const file = path.join(dir, 'model.onnx')
    fs.writeFileSync(file, Buffer.from([8, 7, 0x3a, 0x50])) // truncated graph field
    const hook = prepareAttentionHook(file)
    expect(hook.taps).toEqual([])
    expect(hook.warning).toMatch(/Attention hook disabled.*without heat maps/)
    expect(Buffer.compare(hook.model, fs.readFileSync(file))).toBe(0)
    fs.rmSync(dir, { recursive: true })
  })
})

describe('graph surgery on an Einsum attention', () => {
  it('finds the Einsum scores and taps them correctly', async () => {
    const bytes = buildSyntheticUnet({ layout: '3d', einsum: true, exposeScores: true })
    const patch = patchUnet(bytes)
    expect(patch.taps).toHaveLength(3)
    expect(patch.selfAttention).toBe(3)
    const session = await ort.InferenceSession.create(patch.model, sessionOptions())
    const out = await session.run(feeds(2))
    const scores = out[session.outputNames.filter((n) => n.includes('/attn2/'))[1]]
    expect(maxAbsDiff(out[patch.taps[1].output].data as Float32Array, expectedMap(scores, 1, HEADS))).toBeLessThan(1e-6)
  })
})

describe('graph surgery on a float16 model', () => {
  it('taps float16 probabilities and hands out float32 head means', async () => {
    const bytes = buildSyntheticUnet({ layout: '4d', float16: true, exposeScores: true })
    const patch = patchUnet(bytes)
    expect(patch.taps).toHaveLength(3)
    // Node 24's onnxruntime-node takes no float16 tensors: the engine gives every session a
    // float32 boundary (engine/float32-io.ts); the softmax still runs in float16 inside.
    const session = await ort.InferenceSession.create(toFloat32IO(patch.model), sessionOptions())
    const half = (a: Float32Array): Float32Array => Float32Array.from(a, (v) => fromHalf(toHalf(v)))
    const f = feeds(2)
    const out = await session.run({
      sample: new ort.Tensor('float32', half(f.sample.data as Float32Array), f.sample.dims),
      timestep: f.timestep,
      encoder_hidden_states: new ort.Tensor(
        'float32',
        half(f.encoder_hidden_states.data as Float32Array),
        f.encoder_hidden_states.dims,
      ),
    })
    const tap = out[patch.taps[0].output]
    expect(tap.type).toBe('float32')
    const asFloat = out[session.outputNames.filter((n) => n.includes('/attn2/'))[0]]
    expect(asFloat.type).toBe('float32')
    // fp16 softmax inside the model vs float64 softmax here: agree to fp16 precision
    expect(maxAbsDiff(tap.data as Float32Array, expectedMap(asFloat, 1, HEADS))).toBeLessThan(2e-3)
  })
})

describe('layer descriptions', () => {
  it('parse diffusers module paths and fall back for other exporters', () => {
    expect(describeLayer('/up_blocks.2/attentions.1/transformer_blocks.0/attn2/Softmax')).toEqual({
      name: 'up_blocks.2/attentions.1/transformer_blocks.0/attn2',
      block: 'up',
      blockIndex: 2,
    })
    expect(describeLayer('/mid_block/attentions.0/transformer_blocks.0/attn2/Softmax_1').block).toBe('mid')
    expect(describeLayer('Softmax_123')).toEqual({ name: 'Softmax_123', block: 'unknown', blockIndex: -1 })
    expect(describeLayer('')).toEqual({ name: '', block: 'unknown', blockIndex: -1 })
  })
})
