/**
 * Rewrites a U-Net ONNX model at load time so every cross-attention softmax also leaves the
 * session, already reduced: conditional half of the guidance batch, mean over heads, float32,
 * shape [HW, T]. The reduction runs inside ONNX Runtime, so per step only ~1/(2*heads) of the
 * probabilities cross into JS.
 *
 * The tail appended after each tapped softmax P is rank-agnostic, so both export layouts work:
 *   3-D [B*heads, HW, T] (older exports) and 4-D [B, heads, HW, T] (torch-2 SDPA exports):
 *   P4   = Reshape(P, [B, -1, HW, T])      B = Shape(sample)[0]; diffusers orders B*heads batch-major
 *   M    = ReduceMean(Cast<f32>(P4), axes [1], keepdims 0)      -> [B, HW, T], mean over heads
 *   out  = Gather(M, B-1, axis 0)          CFG batch is [uncond, cond]; with B = 1 this is 0
 * and optionally Gather(M, 0) for the unconditional/negative-prompt half.
 *
 * Fused attention (com.microsoft.MultiHeadAttention from ONNX Runtime's optimizer) has no softmax:
 * for each fused cross-attention node a side branch recomputes P = softmax(Q·Kᵀ·scale) from the
 * node's own query and key inputs (heads split per `num_heads`, K unpacked from [B, L, N, 2, H],
 * the Q/K parts of `bias` added) as [B, N, HW, T] in float32, and feeds the same tail. The fused
 * node stays in place and still computes the U-Net's output.
 */
import { onnx } from 'onnx-proto'
import { appendToGraph, scanModel, type ScannedModel } from './onnx-scan'
import { findAttention, unetInputNames, type FusedCrossSite } from './find-attention'
import type { LayerBlock } from '../../shared/attention-record'

export interface TapInfo {
  /** Position among tapped layers, in graph (execution) order. */
  index: number
  /** Human-readable layer name, e.g. "down_blocks.0/attentions.0/transformer_blocks.0/attn2". */
  name: string
  block: LayerBlock
  /** Index of the down/up block (0 for mid, -1 when the export's names do not tell). */
  blockIndex: number
  /** Name of the Softmax node that is tapped (the fused attention node when recomputed). */
  softmax: string
  /** True when the probabilities are recomputed from a fused attention node's inputs. */
  recomputed?: boolean
  /** Extra session output with the conditional map [HW, T]. */
  output: string
  /** Extra session output with the unconditional (negative-prompt) map, when asked for. */
  uncondOutput?: string
}

export interface UnetPatch {
  /** The patched model bytes (original bytes + appended fragment); the original is untouched. */
  model: Buffer
  taps: TapInfo[]
  /** Counts for diagnostics and tests. */
  selfAttention: number
  unrecognised: number
  /** Set when no cross-attention could be tapped (e.g. fused attention): show it to the user. */
  warning?: string
}

export interface PatchOptions {
  /** Also export the unconditional half (needed for negative-prompt heat maps). */
  negative?: boolean
}

const FLOAT = onnx.TensorProto.DataType.FLOAT
const INT64 = onnx.TensorProto.DataType.INT64

function int64Const(name: string, values: number[], scalar = false): onnx.INodeProto {
  const raw = new BigInt64Array(values.map((v) => BigInt(v)))
  return {
    opType: 'Constant',
    name,
    output: [name],
    attribute: [
      {
        name: 'value',
        type: onnx.AttributeProto.AttributeType.TENSOR,
        t: { dataType: INT64, dims: scalar ? [] : [values.length], rawData: new Uint8Array(raw.buffer) },
      },
    ],
  }
}

function ints(name: string, values: number[]): onnx.IAttributeProto {
  return { name, type: onnx.AttributeProto.AttributeType.INTS, ints: values }
}
function int(name: string, value: number): onnx.IAttributeProto {
  return { name, type: onnx.AttributeProto.AttributeType.INT, i: value }
}

/** Parses diffusers-style module paths out of an exported node name. */
export function describeLayer(nodeName: string): { name: string; block: LayerBlock; blockIndex: number } {
  const path = nodeName.replace(/^\//, '').replace(/\/Softmax(_\d+)?$/, '')
  const down = /down_blocks\.(\d+)/.exec(path)
  const up = /up_blocks\.(\d+)/.exec(path)
  if (down) return { name: path, block: 'down', blockIndex: Number(down[1]) }
  if (up) return { name: path, block: 'up', blockIndex: Number(up[1]) }
  if (/mid_block/.test(path)) return { name: path, block: 'mid', blockIndex: 0 }
  return { name: path, block: 'unknown', blockIndex: -1 }
}

export const FUSED_ATTENTION_MESSAGE =
  'This model fuses its attention into ONNX Runtime kernels (com.microsoft.MultiHeadAttention / ' +
  'Attention) in a form whose cross-attention probabilities cannot be recomputed (no node takes its ' +
  'key from the text alone): images are generated, but no heat maps. To get heat maps, use an ' +
  'unoptimised export of the same model (e.g. `optimum-cli export onnx` without `--optimize`, or ' +
  'the original diffusers ONNX export).'

export function patchUnet(bytes: Uint8Array, options: PatchOptions = {}): UnetPatch {
  const scanned = scanModel(bytes)
  return patchScanned(bytes, scanned, options)
}

export function patchScanned(bytes: Uint8Array, scanned: ScannedModel, options: PatchOptions = {}): UnetPatch {
  const inputs = unetInputNames(scanned)
  const { sites, fused, fusedCross } = findAttention(scanned, inputs)
  // Softmax taps and fused sites together, in graph (execution) order.
  const cross: ({ kind: 'softmax'; nodeIndex: number; name: string; probs: string } | FusedSiteRef)[] = [
    ...sites.filter((s) => s.kind === 'cross').map((s) => ({ ...s, kind: 'softmax' as const })),
    ...fusedCross.map((site) => ({ kind: 'fused' as const, nodeIndex: site.nodeIndex, site })),
  ].sort((a, b) => a.nodeIndex - b.nodeIndex)
  const selfAttention = sites.filter((s) => s.kind === 'self').length
  const unrecognised = sites.filter((s) => s.kind === 'unknown').length
  const original = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  if (cross.length === 0) {
    const warning =
      fused.length > 0
        ? FUSED_ATTENTION_MESSAGE
        : `No cross-attention softmax found in the U-Net (${sites.length} softmax nodes, none with keys from ` +
          `'${inputs.encoderHiddenStates}'): images are generated, but no heat maps.`
    return { model: original, taps: [], selfAttention, unrecognised, warning }
  }

  const opset = scanned.opsets.get('') ?? 0
  if (opset < 11) throw new Error(`U-Net opset ${opset} is too old for the attention hook (needs >= 11)`)
  const axesAsInput = opset >= 18 // ReduceMean took `axes` as an attribute before opset 18

  const P = 'daam/' // prefix keeps appended names apart from the exporter's
  const nodes: onnx.INodeProto[] = [
    int64Const(`${P}c0`, [0], true),
    int64Const(`${P}c1`, [1], true),
    int64Const(`${P}idx0`, [0]),
    int64Const(`${P}minus1`, [-1]),
    int64Const(`${P}tailStart`, [-2]),
    int64Const(`${P}tailEnd`, [Number.MAX_SAFE_INTEGER]),
    { opType: 'Shape', input: [inputs.sample], output: [`${P}sampleShape`], name: `${P}sampleShape` },
    {
      opType: 'Gather',
      input: [`${P}sampleShape`, `${P}idx0`],
      output: [`${P}B1d`],
      name: `${P}B1d`,
      attribute: [int('axis', 0)],
    },
    {
      opType: 'Gather',
      input: [`${P}sampleShape`, `${P}c0`],
      output: [`${P}B`],
      name: `${P}B`,
      attribute: [int('axis', 0)],
    },
    { opType: 'Sub', input: [`${P}B`, `${P}c1`], output: [`${P}condIdx`], name: `${P}condIdx` },
  ]
  if (axesAsInput) nodes.push(int64Const(`${P}axes1`, [1]))
  const outputs: onnx.IValueInfoProto[] = []
  const taps: TapInfo[] = []

  const reduce = (input: string, out: string): onnx.INodeProto =>
    axesAsInput
      ? { opType: 'ReduceMean', input: [input, `${P}axes1`], output: [out], name: out, attribute: [int('keepdims', 0)] }
      : {
          opType: 'ReduceMean',
          input: [input],
          output: [out],
          name: out,
          attribute: [ints('axes', [1]), int('keepdims', 0)],
        }

  cross.forEach((entry, index) => {
    const t = `${P}attn${index}/`
    const site =
      entry.kind === 'softmax'
        ? entry
        : {
            probs: recomputeProbs(entry.site, t, nodes),
            name: entry.site.pathName || entry.site.name,
          }
    const output = `daam.attn.${index}.cond`
    const uncondOutput = options.negative ? `daam.attn.${index}.uncond` : undefined
    // Heads are averaged before the batch row is picked, so the Gather moves 1/(2*heads) of the
    // probabilities. The Cast comes first because ONNX Runtime's CPU ReduceMean has no float16
    // kernel; on float32 models it is a no-op that the session's optimiser removes.
    nodes.push(
      { opType: 'Shape', input: [site.probs], output: [`${t}shape`], name: `${t}shape` },
      { opType: 'Slice', input: [`${t}shape`, `${P}tailStart`, `${P}tailEnd`], output: [`${t}tail`], name: `${t}tail` },
      {
        opType: 'Concat',
        input: [`${P}B1d`, `${P}minus1`, `${t}tail`],
        output: [`${t}shape4`],
        name: `${t}shape4`,
        attribute: [int('axis', 0)],
      },
      { opType: 'Reshape', input: [site.probs, `${t}shape4`], output: [`${t}p4`], name: `${t}p4` },
      { opType: 'Cast', input: [`${t}p4`], output: [`${t}p4f`], name: `${t}p4f`, attribute: [int('to', FLOAT)] },
      reduce(`${t}p4f`, `${t}mean`),
      {
        opType: 'Gather',
        input: [`${t}mean`, `${P}condIdx`],
        output: [output],
        name: output,
        attribute: [int('axis', 0)],
      },
    )
    outputs.push({ name: output, type: { tensorType: { elemType: FLOAT } } })
    if (uncondOutput) {
      nodes.push({
        opType: 'Gather',
        input: [`${t}mean`, `${P}c0`],
        output: [uncondOutput],
        name: uncondOutput,
        attribute: [int('axis', 0)],
      })
      outputs.push({ name: uncondOutput, type: { tensorType: { elemType: FLOAT } } })
    }
    const described = describeLayer(site.name)
    // exporters that leave nodes unnamed still get a readable, stable layer name
    if (!described.name) described.name = `cross-attention ${index}`
    const recomputed = entry.kind === 'fused' ? { softmax: entry.site.name, recomputed: true } : { softmax: site.name }
    taps.push({ index, ...described, ...recomputed, output, uncondOutput })
  })

  return { model: appendToGraph(bytes, nodes, outputs), taps, selfAttention, unrecognised }
}

interface FusedSiteRef {
  kind: 'fused'
  nodeIndex: number
  site: FusedCrossSite
}

function floatConst(name: string, value: number): onnx.INodeProto {
  return {
    opType: 'Constant',
    name,
    output: [name],
    attribute: [
      {
        name: 'value',
        type: onnx.AttributeProto.AttributeType.TENSOR,
        t: { dataType: FLOAT, dims: [], floatData: [value] },
      },
    ],
  }
}

/**
 * Appends to `nodes` the side branch that recomputes a fused cross-attention node's probabilities
 * as [B, heads, HW, T] float32 and returns that tensor's name. Float32 throughout: fp16 models get
 * their maps at the precision of the unfused fp16 softmax or better.
 */
function recomputeProbs(site: FusedCrossSite, t: string, nodes: onnx.INodeProto[]): string {
  const node = (opType: string, input: string[], name: string, attribute?: onnx.IAttributeProto[]): string => {
    nodes.push({ opType, input, output: [`${t}${name}`], name: `${t}${name}`, attribute })
    return `${t}${name}`
  }
  const cast = (x: string, name: string) => node('Cast', [x], name, [int('to', FLOAT)])
  nodes.push(int64Const(`${t}splitHeads`, [0, 0, site.numHeads, -1]), int64Const(`${t}i0`, [0], true))
  // [B, S, N*H] -> [B, S, N, H]
  let q = node('Reshape', [cast(site.query, 'qf'), `${t}splitHeads`], 'q4')
  // Separate: [B, L, N*H] -> [B, L, N, H]; packed: [B, L, N, 2, H] -> K part [B, L, N, H].
  let k =
    site.layout === 'separate'
      ? node('Reshape', [cast(site.key, 'kf'), `${t}splitHeads`], 'k4')
      : node('Gather', [cast(site.key, 'kvf'), `${t}i0`], 'k4', [int('axis', 3)])
  if (site.bias) {
    // bias is [Q | K | V], each N*H wide: as [3, N, H] its rows 0 and 1 broadcast onto Q and K.
    nodes.push(int64Const(`${t}bias3`, [3, site.numHeads, -1]), int64Const(`${t}i1`, [1], true))
    const b3 = node('Reshape', [cast(site.bias, 'bf'), `${t}bias3`], 'b3')
    q = node('Add', [q, node('Gather', [b3, `${t}i0`], 'bq', [int('axis', 0)])], 'qb')
    k = node('Add', [k, node('Gather', [b3, `${t}i1`], 'bk', [int('axis', 0)])], 'kb')
  }
  const qT = node('Transpose', [q], 'qT', [ints('perm', [0, 2, 1, 3])]) // [B, N, S, H]
  const kT = node('Transpose', [k], 'kT', [ints('perm', [0, 2, 3, 1])]) // [B, N, H, L]
  const scores = node('MatMul', [qT, kT], 'scores')
  let scale: string
  if (site.scale !== undefined) {
    nodes.push(floatConst(`${t}scale`, site.scale))
    scale = `${t}scale`
  } else {
    // The kernel's default: 1/sqrt(head_dim), head_dim read from the split query.
    nodes.push(int64Const(`${t}i3`, [3]))
    const hd = node('Gather', [node('Shape', [q], 'qShape'), `${t}i3`], 'headDim', [int('axis', 0)])
    scale = node('Reciprocal', [node('Sqrt', [cast(hd, 'headDimF')], 'sqrtHeadDim')], 'scale')
  }
  return node('Softmax', [node('Mul', [scores, scale], 'scaled')], 'probs', [int('axis', -1)])
}
