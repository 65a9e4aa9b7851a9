/**
 * The side branch patch-unet.ts adds for fused cross-attention, checked on its own: a one-node
 * graph whose com.microsoft.MultiHeadAttention takes its query from the image and its key from the
 * text, in each layout ONNX Runtime's optimizer writes (separate Q/K/V with a bias; K and V packed
 * as [B, L, N, 2, H], which only CUDA/DirectML run). The fused node is dropped from the patched
 * graph before running it here, so the packed layout is checked on the CPU provider too; the maps
 * must equal softmax(Q·Kᵀ·scale) averaged over heads, computed in JS.
 */
import { describe, expect, it } from 'vitest'
import * as ort from 'onnxruntime-node'
import { onnx } from 'onnx-proto'
import { patchUnet } from './patch-unet'
import { sessionOptions } from '../engine/session-options'
import { randn } from '../../../test/attention/synthetic-unet'

const B = 2, // guidance batch [uncond, cond]
  N = 3, // heads
  Hd = 4, // head dim
  C = N * Hd,
  HH = 2,
  WW = 3,
  S = HH * WW,
  L = 5,
  D = 7
const F = onnx.TensorProto.DataType.FLOAT
const I64 = onnx.TensorProto.DataType.INT64

interface Variant {
  layout: 'separate' | 'packed-kv'
  bias: boolean
  scale?: number
}

/** sample [B,C,HH,WW] -> Q [B,S,C]; encoder_hidden_states [B,L,D] -> K (and V) by a projection. */
function buildGraph(v: Variant): { bytes: Uint8Array; weights: Float32Array; bias: Float32Array } {
  const weights = randn(D * 2 * C, 11)
  const bias = randn(3 * C, 12)
  const init = (name: string, dims: number[], data: Float32Array | number[], type = F): onnx.ITensorProto =>
    type === F
      ? { name, dims, dataType: F, floatData: Array.from(data) }
      : { name, dims, dataType: I64, int64Data: Array.from(data) }
  const nodes: onnx.INodeProto[] = [
    {
      opType: 'Transpose',
      input: ['sample'],
      output: ['s_t'],
      attribute: [{ name: 'perm', type: 7, ints: [0, 2, 3, 1] }],
    },
    { opType: 'Reshape', input: ['s_t', 'shape_q'], output: ['q'] },
    { opType: 'MatMul', input: ['encoder_hidden_states', 'w_kv'], output: ['kv_flat'] }, // [B, L, 2C]: K | V
  ]
  const inits = [init('shape_q', [3], [0, -1, C], I64), init('w_kv', [D, 2 * C], weights)]
  let mhaInputs: string[]
  if (v.layout === 'separate') {
    nodes.push({
      opType: 'Split',
      input: ['kv_flat', 'split'],
      output: ['k', 'v'],
      attribute: [{ name: 'axis', type: 2, i: 2 }],
    })
    inits.push(init('split', [2], [C, C], I64))
    mhaInputs = ['q', 'k', 'v']
  } else {
    // [B, L, 2, N, H] -> [B, L, N, 2, H], the packed-KV layout
    nodes.push(
      { opType: 'Reshape', input: ['kv_flat', 'shape_kv'], output: ['kv5'] },
      {
        opType: 'Transpose',
        input: ['kv5'],
        output: ['kv'],
        attribute: [{ name: 'perm', type: 7, ints: [0, 1, 3, 2, 4] }],
      },
    )
    inits.push(init('shape_kv', [5], [0, 0, 2, N, Hd], I64))
    mhaInputs = ['q', 'kv', '']
  }
  if (v.bias) {
    inits.push(init('bias', [3 * C], bias))
    mhaInputs.push('bias')
  }
  const attribute: onnx.IAttributeProto[] = [{ name: 'num_heads', type: 2, i: N }]
  if (v.scale !== undefined) attribute.push({ name: 'scale', type: 1, f: v.scale })
  nodes.push({
    opType: 'MultiHeadAttention',
    domain: 'com.microsoft',
    input: mhaInputs,
    output: ['out'],
    name: 'MultiHeadAttention_0',
    attribute,
  })
  const t = (dims: number[], elemType = F): onnx.ITypeProto => ({
    tensorType: { elemType, shape: { dim: dims.map((d) => ({ dimValue: d })) } },
  })
  const model: onnx.IModelProto = {
    irVersion: 8,
    opsetImport: [
      { domain: '', version: 17 },
      { domain: 'com.microsoft', version: 1 },
    ],
    graph: {
      name: 'mha',
      node: nodes,
      initializer: inits,
      input: [
        { name: 'sample', type: t([B, C, HH, WW]) },
        { name: 'encoder_hidden_states', type: t([B, L, D]) },
      ],
      output: [{ name: 'out', type: t([B, S, C]) }],
    },
  }
  return { bytes: onnx.ModelProto.encode(model).finish(), weights, bias }
}

/**
 * The patched graph without the fused node (CPU has no packed-KV kernel). The patch is the original
 * bytes with a graph fragment appended (protobuf merges them; protobufjs's decoder does not), so the
 * two are decoded apart and joined here.
 */
function withoutFusedNode(original: Uint8Array, patched: Uint8Array): Uint8Array {
  const m = onnx.ModelProto.decode(original)
  const fragment = onnx.ModelProto.decode(patched.subarray(original.length)).graph!
  const g = m.graph!
  g.node = [...(g.node ?? []).filter((n) => n.opType !== 'MultiHeadAttention'), ...(fragment.node ?? [])]
  g.output = fragment.output
  return onnx.ModelProto.encode(m).finish()
}

/** softmax(Q·Kᵀ·scale) averaged over heads for batch row b, from the projections in JS. */
function expected(sample: Float32Array, ehs: Float32Array, v: Variant, w: Float32Array, bias: Float32Array, b: number) {
  const q = new Float32Array(S * C)
  for (let s = 0; s < S; s++)
    for (let c = 0; c < C; c++) q[s * C + c] = sample[(b * C + c) * HH * WW + s] + (v.bias ? bias[c] : 0)
  const k = new Float32Array(L * C)
  for (let l = 0; l < L; l++)
    for (let c = 0; c < C; c++) {
      let acc = 0
      for (let d = 0; d < D; d++) acc += ehs[(b * L + l) * D + d] * w[d * 2 * C + c]
      k[l * C + c] = acc + (v.bias ? bias[C + c] : 0)
    }
  const scale = v.scale ?? 1 / Math.sqrt(Hd)
  const out = new Float32Array(S * L)
  const row = new Float64Array(L)
  for (let h = 0; h < N; h++)
    for (let s = 0; s < S; s++) {
      let max = -Infinity
      for (let l = 0; l < L; l++) {
        let dot = 0
        for (let e = 0; e < Hd; e++) dot += q[s * C + h * Hd + e] * k[l * C + h * Hd + e]
        row[l] = dot * scale
        max = Math.max(max, row[l])
      }
      let sum = 0
      for (let l = 0; l < L; l++) sum += row[l] = Math.exp(row[l] - max)
      for (let l = 0; l < L; l++) out[s * L + l] += row[l] / sum / N
    }
  return out
}

describe.each<Variant>([
  { layout: 'separate', bias: true },
  { layout: 'separate', bias: false, scale: 0.3 },
  { layout: 'packed-kv', bias: false },
  { layout: 'packed-kv', bias: true, scale: 0.7 },
])('fused cross-attention side branch: %o', (v) => {
  it('finds the node by structure and recomputes its head-mean probabilities per guidance half', async () => {
    const { bytes, weights, bias } = buildGraph(v)
    const patch = patchUnet(bytes, { negative: true })
    expect(patch.warning).toBeUndefined()
    expect(patch.taps).toHaveLength(1)
    expect(patch.taps[0]).toMatchObject({ softmax: 'MultiHeadAttention_0', recomputed: true })
    const sample = randn(B * C * S, 21)
    const ehs = randn(B * L * D, 22)
    const feeds = {
      sample: new ort.Tensor('float32', sample, [B, C, HH, WW]),
      encoder_hidden_states: new ort.Tensor('float32', ehs, [B, L, D]),
    }
    const session = await ort.InferenceSession.create(
      withoutFusedNode(bytes, patch.model),
      sessionOptions({ threads: 1 }),
    )
    const out = await session.run(feeds)
    for (const [name, b] of [
      [patch.taps[0].output, 1],
      [patch.taps[0].uncondOutput!, 0],
    ] as const) {
      expect(out[name].dims).toEqual([S, L])
      const want = expected(sample, ehs, v, weights, bias, b)
      const got = out[name].data as Float32Array
      let worst = 0
      for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(want[i] - got[i]))
      expect(worst).toBeLessThan(1e-5)
    }
    await session.release()
  })
})

describe('fused self-attention', () => {
  it('is not tapped: packed QKV or a query and key from the image', () => {
    const { bytes } = buildGraph({ layout: 'separate', bias: false })
    const m = onnx.ModelProto.decode(bytes)
    const mha = m.graph!.node!.find((n) => n.opType === 'MultiHeadAttention')!
    mha.input = ['q', 'q', 'q'] // key from the image: self-attention
    const patch = patchUnet(onnx.ModelProto.encode(m).finish())
    expect(patch.taps).toEqual([])
    expect(patch.warning).toMatch(/cannot be recomputed/)
  })
})
