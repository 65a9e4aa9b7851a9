/**
 * Builds small U-Net-shaped ONNX graphs for the hook tests: image tokens attend to themselves
 * (self-attention, attn1) and to the text (cross-attention, attn2) at two resolutions, in either
 * the 3-D [B*heads, S, d] layout of older exports or the 4-D [B, heads, S, d] layout of SDPA
 * exports. Node names follow diffusers' module paths, like a real export.
 */
import { onnx } from 'onnx-proto'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { toHalf } from '../../src/shared/float16'

export interface SyntheticOptions {
  layout: '3d' | '4d'
  heads?: number
  headDim?: number
  textDim?: number
  opset?: number
  /** Expose each attention's pre-softmax scores as graph outputs (for checking in JS). */
  exposeScores?: boolean
  /** Store weights in an external data file at this path (relative location inside the model). */
  externalData?: { dir: string; file: string }
  /** Replace the attention blocks by com.microsoft.MultiHeadAttention (fused export). */
  fused?: boolean
  /** float16 weights, inputs and activations, like fp16 SD exports. */
  float16?: boolean
  /** Scores by Einsum instead of Transpose + MatMul (3-D layout only). */
  einsum?: boolean
}

const C = 4 // latent channels (also the model width here)
const F32 = onnx.TensorProto.DataType.FLOAT
const INT64 = onnx.TensorProto.DataType.INT64

function rng(seed: number): () => number {
  let s = seed >>> 0
  return () => {
    s = (s + 0x6d2b79f5) >>> 0
    let t = s
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296 - 0.5
  }
}

export function buildSyntheticUnet(opts: SyntheticOptions): Uint8Array {
  const FLOAT = opts.float16 ? onnx.TensorProto.DataType.FLOAT16 : F32
  /** Raw little-endian bytes of float values in the model's float type. */
  const floatBytes = (values: Float32Array): Buffer =>
    opts.float16 ? Buffer.from(Uint16Array.from(values, (v) => toHalf(v)).buffer) : Buffer.from(values.buffer)
  const heads = opts.heads ?? 2
  const d = opts.headDim ?? 4
  const D = opts.textDim ?? 6
  const inner = heads * d
  const opset = opts.opset ?? 17
  const rand = rng(1234)
  const nodes: onnx.INodeProto[] = []
  const inits: onnx.ITensorProto[] = []
  const extraOutputs: string[] = []
  const ext: { chunks: Buffer[]; offset: number } = { chunks: [], offset: 0 }
  let uid = 0

  const weight = (name: string, dims: number[]): string => {
    const n = dims.reduce((a, b) => a * b, 1)
    const data = new Float32Array(n)
    for (let i = 0; i < n; i++) data[i] = rand() * 1.5
    const bytes = floatBytes(data)
    if (opts.externalData) {
      inits.push({
        name,
        dims,
        dataType: FLOAT,
        dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
        externalData: [
          { key: 'location', value: opts.externalData.file },
          { key: 'offset', value: String(ext.offset) },
          { key: 'length', value: String(bytes.length) },
        ],
      })
      ext.chunks.push(bytes)
      ext.offset += bytes.length
    } else {
      inits.push({ name, dims, dataType: FLOAT, rawData: new Uint8Array(bytes) })
    }
    return name
  }
  const ints = (name: string, values: number[]): string => {
    inits.push({
      name,
      dims: [values.length],
      dataType: INT64,
      rawData: new Uint8Array(new BigInt64Array(values.map(BigInt)).buffer),
    })
    return name
  }
  const node = (
    opType: string,
    input: string[],
    name: string,
    attribute: onnx.IAttributeProto[] = [],
    domain?: string,
  ): string => {
    const out = `${name}_output_${uid++}`
    nodes.push({ opType, input, output: [out], name, attribute, domain })
    return out
  }
  const perm = (p: number[]): onnx.IAttributeProto => ({
    name: 'perm',
    type: onnx.AttributeProto.AttributeType.INTS,
    ints: p,
  })
  const axis = (a: number): onnx.IAttributeProto => ({
    name: 'axis',
    type: onnx.AttributeProto.AttributeType.INT,
    i: a,
  })

  ints('c_1', [1])
  if (opts.layout === '3d' && !opts.fused) {
    ints('c_m1', [-1])
    ints('c_d', [d])
    ints('c_h', [heads])
  }
  ints('c_00hd', [0, 0, heads, d])
  ints('c_00inner', [0, 0, inner])

  /** [B, S, inner] -> heads layout. Sequence length comes from Shape(t) (as exporters do). */
  const splitHeads = (t: string, p: string): string => {
    const r = node('Reshape', [t, 'c_00hd'], `${p}/Reshape`)
    const tr = node('Transpose', [r], `${p}/Transpose`, [perm([0, 2, 1, 3])])
    if (opts.layout === '4d') return tr
    const S = node('Gather', [node('Shape', [t], `${p}/Shape`), 'c_1'], `${p}/Gather`, [axis(0)])
    const shp = node('Concat', ['c_m1', S, 'c_d'], `${p}/Concat`, [axis(0)])
    return node('Reshape', [tr, shp], `${p}/Reshape_1`)
  }
  const mergeHeads = (t: string, S: string, p: string): string => {
    let t4 = t
    if (opts.layout === '3d') {
      const shp = node('Concat', ['c_m1', 'c_h', S, 'c_d'], `${p}/Concat_2`, [axis(0)])
      t4 = node('Reshape', [t, shp], `${p}/Reshape_2`)
    }
    const tr = node('Transpose', [t4], `${p}/Transpose_2`, [perm([0, 2, 1, 3])])
    return node('Reshape', [tr, 'c_00inner'], `${p}/Reshape_3`)
  }

  const attention = (x: string, context: string | undefined, ctxDim: number, p: string): string => {
    const q = node('MatMul', [x, weight(`${p}.to_q.weight`, [C, inner])], `${p}/to_q/MatMul`)
    const kvIn = context ?? x
    const k = node('MatMul', [kvIn, weight(`${p}.to_k.weight`, [ctxDim, inner])], `${p}/to_k/MatMul`)
    const v = node('MatMul', [kvIn, weight(`${p}.to_v.weight`, [ctxDim, inner])], `${p}/to_v/MatMul`)
    let o: string
    if (opts.fused) {
      const numHeads: onnx.IAttributeProto = {
        name: 'num_heads',
        type: onnx.AttributeProto.AttributeType.INT,
        i: heads,
      }
      o = node('MultiHeadAttention', [q, k, v], `${p}/MultiHeadAttention`, [numHeads], 'com.microsoft')
    } else {
      const qh = splitHeads(q, `${p}/q`)
      const kh = splitHeads(k, `${p}/k`)
      const vh = splitHeads(v, `${p}/v`)
      const equation: onnx.IAttributeProto = {
        name: 'equation',
        type: onnx.AttributeProto.AttributeType.STRING,
        s: new TextEncoder().encode('bid,bjd->bij'),
      }
      const scores = opts.einsum
        ? node('Einsum', [qh, kh], `${p}/Einsum`, [equation])
        : node(
            'MatMul',
            [qh, node('Transpose', [kh], `${p}/Transpose_k`, [perm(opts.layout === '3d' ? [0, 2, 1] : [0, 1, 3, 2])])],
            `${p}/MatMul`,
          )
      inits.push({
        name: `${p}.scale`,
        dims: [],
        dataType: FLOAT,
        rawData: new Uint8Array(floatBytes(Float32Array.of(1 / Math.sqrt(d)))),
      })
      const scaled = node('Mul', [scores, `${p}.scale`], `${p}/Mul`)
      if (opts.exposeScores) extraOutputs.push(scaled)
      const probs = node('Softmax', [scaled], `${p}/Softmax`, [axis(-1)])
      const av = node('MatMul', [probs, vh], `${p}/MatMul_1`)
      const S = node('Gather', [node('Shape', [x], `${p}/Shape_x`), 'c_1'], `${p}/Gather_x`, [axis(0)])
      o = mergeHeads(av, S, p)
    }
    const proj = node('MatMul', [o, weight(`${p}.to_out.weight`, [inner, C])], `${p}/to_out/MatMul`)
    return node('Add', [x, proj], `${p}/Add`)
  }

  const transformer = (img: string, p: string): string => {
    // [B,C,H,W] -> [B,HW,C] -> attn1 -> attn2 -> back to [B,C,H,W]
    const shape = node('Shape', [img], `${p}/Shape`)
    const tokens = node(
      'Reshape',
      [node('Transpose', [img], `${p}/Transpose`, [perm([0, 2, 3, 1])]), ints(`${p}.tok`, [0, -1, C])],
      `${p}/Reshape`,
    )
    const a1 = attention(tokens, undefined, C, `${p}/transformer_blocks.0/attn1`)
    const a2 = attention(a1, 'encoder_hidden_states', D, `${p}/transformer_blocks.0/attn2`)
    const bhw = node('Gather', [shape, ints(`${p}.bhw`, [0, 2, 3])], `${p}/Gather`, [axis(0)])
    const shp = node('Concat', [bhw, ints(`${p}.c`, [C])], `${p}/Concat`, [axis(0)])
    return node('Transpose', [node('Reshape', [a2, shp], `${p}/Reshape_back`)], `${p}/Transpose_back`, [
      perm([0, 3, 1, 2]),
    ])
  }

  const kernel: onnx.IAttributeProto = {
    name: 'kernel_shape',
    type: onnx.AttributeProto.AttributeType.INTS,
    ints: [2, 2],
  }
  const strides: onnx.IAttributeProto = { name: 'strides', type: onnx.AttributeProto.AttributeType.INTS, ints: [2, 2] }
  const t0 = transformer('sample', '/down_blocks.0/attentions.0')
  const pooled = node('AveragePool', [t0], '/down_blocks.0/downsamplers.0/AveragePool', [kernel, strides])
  const t1 = transformer(pooled, '/mid_block/attentions.0')
  inits.push({ name: 'c_scales', dims: [4], dataType: F32, floatData: [1, 1, 2, 2] })
  const up = node('Resize', [t1, '', 'c_scales'], '/up_blocks.0/upsamplers.0/Resize')
  const t2 = transformer(up, '/up_blocks.0/attentions.0')
  // timestep enters like a (trivial) time embedding so the input is used
  const tcast = node('Cast', ['timestep'], '/time_proj/Cast', [
    { name: 'to', type: onnx.AttributeProto.AttributeType.INT, i: FLOAT },
  ])
  const tscaled = node(
    'Reshape',
    [node('Mul', [tcast, weight('time.scale', [1])], '/time_embedding/Mul'), ints('c_b111', [-1, 1, 1, 1])],
    '/time_embedding/Reshape',
  )
  nodes.push({
    opType: 'Add',
    input: [node('Add', [t0, t2], '/conv_out/Add'), tscaled],
    output: ['out_sample'],
    name: '/out/Add',
  })

  const tensorType = (dims: (number | string)[], elemType = FLOAT): onnx.ITypeProto => ({
    tensorType: {
      elemType,
      shape: { dim: dims.map((x) => (typeof x === 'number' ? { dimValue: x } : { dimParam: x })) },
    },
  })
  const model: onnx.IModelProto = {
    irVersion: 8,
    opsetImport: [{ domain: '', version: opset }, ...(opts.fused ? [{ domain: 'com.microsoft', version: 1 }] : [])],
    producerName: 'daam-test',
    graph: {
      name: 'synthetic_unet',
      node: nodes,
      initializer: inits,
      input: [
        { name: 'sample', type: tensorType(['batch', C, 'height', 'width']) },
        { name: 'timestep', type: tensorType(['batch'], INT64) },
        { name: 'encoder_hidden_states', type: tensorType(['batch', 'sequence', D]) },
      ],
      output: [
        { name: 'out_sample', type: tensorType(['batch', C, 'height', 'width']) },
        ...extraOutputs.map((name) => ({ name, type: { tensorType: { elemType: FLOAT } } })),
      ],
    },
  }
  const bytes = onnx.ModelProto.encode(model).finish()
  if (opts.externalData) {
    fs.writeFileSync(path.join(opts.externalData.dir, opts.externalData.file), Buffer.concat(ext.chunks))
  }
  return bytes
}

export function randn(n: number, seed: number): Float32Array {
  const r = rng(seed)
  const out = new Float32Array(n)
  for (let i = 0; i < n; i++) out[i] = r() * 2
  return out
}
