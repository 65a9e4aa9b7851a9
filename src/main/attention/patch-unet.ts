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
 * With `perHead` (opt-in, issue 16) the ReduceMean is skipped: out = Gather(Cast(P4), B-1) is
 * [heads, HW, T], so the heat-map code can clamp each head's upsampled map at 0 before averaging
 * heads, exactly as DAAM does. It moves `heads` times more values per step into JS.
 *
 * With `refine` (issue 16 §2, the "refined" overlay method), each cross-attention layer's own
 * transformer block's self-attention (attn1: the softmax right before it in graph order, both
 * operands on the image path) is tapped too and reduced in-graph to its conditional head mean
 * A = mean_h S[cond, h] ([HW, HW]); the graph then propagates the layer's token maps through it,
 *   refined = MatMul(A, out)               [HW, HW] x [HW, T] -> [HW, T]
 * (each query position takes the attention-weighted mean of the token map over the positions it
 * attends to: DiffSegmenter, Wang et al. 2023, arXiv:2309.02773; Dataset Diffusion, Nguyen et al.
 * NeurIPS 2023; iSeg, Sun et al. 2024, arXiv:2409.03209). Only [HW, T] leaves the session, the
 * same size as the cross map, so every resolution is affordable: the [HW, HW] matrix (16.7 M
 * values per layer at 64x64) never crosses into JS. The Gather of the conditional half comes
 * before the Cast so float16 models convert one half only. Not combined with `perHead`.
 *
 * Fused attention (com.microsoft.MultiHeadAttention from ONNX Runtime's optimizer) has no softmax:
 * for each fused cross-attention node a side branch recomputes P = softmax(Q·Kᵀ·scale) from the
 * node's own query and key inputs (heads split per `num_heads`, K unpacked from [B, L, N, 2, H],
 * the Q/K parts of `bias` added) as [B, N, HW, T] in float32, and feeds the same tail. The fused
 * node stays in place and still computes the U-Net's output.
 */
import { onnx } from 'onnx-proto'
import {
  appendToGraph,
  GRAPH_INPUT,
  GRAPH_NODE,
  GRAPH_OUTPUT,
  lengthField,
  MODEL_GRAPH,
  protoFields,
  scanModel,
  type ScannedModel,
} from './onnx-scan'
import { findAttention, unetInputNames, type AttentionSite, type FusedCrossSite } from './find-attention'
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
  /** Extra session output with the conditional map [HW, T] ([heads, HW, T] when per head). */
  output: string
  /** Extra session output with the unconditional (negative-prompt) map, when asked for. */
  uncondOutput?: string
  /** The outputs keep every head ([heads, HW, T]) instead of their mean ([HW, T]). */
  perHead?: boolean
  /** Extra output with the token maps propagated through the block's self-attention, [HW, T]. */
  refinedOutput?: string
  /** Name of the self-attention Softmax that refinedOutput propagates through. */
  selfSoftmax?: string
  /** With attention control: where this layer's scale acts (PatchOptions.controlAt). */
  controlAt?: 'values' | 'probs'
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
  /** The model takes TOKEN_SCALE_INPUT (a `control` patch with at least one tap). */
  control: boolean
}

export interface PatchOptions {
  /** Also export the unconditional half (needed for negative-prompt heat maps). */
  negative?: boolean
  /** Keep every head's map instead of the in-graph head mean (exact DAAM clamp; heads x the record). */
  perHead?: boolean
  /** Also export the token maps propagated through each block's self-attention (see above). */
  refine?: boolean
  /**
   * Attention control: add the graph input TOKEN_SCALE_INPUT, a per-token scale [batch, tokens]
   * (float32) multiplied into every tapped cross-attention's probabilities after the softmax and
   * before the product with the values. The caller must then feed it (all ones = the plain U-Net).
   */
  control?: boolean
  /**
   * Where the control scale acts: 'values' (default) scales the rows of V, P·(s⊙V), through the
   * text embedding the layer's value projection reads (one Mul for all layers); 'probs' scales the
   * probabilities, (P⊙s)·V, per layer (what 'values' falls back to where the value path is not a
   * plain projection). The two are equal up to float rounding.
   */
  controlAt?: 'values' | 'probs'
}

/** Name of the attention-control input a `control` patch adds: [batch, tokens] float32. */
export const TOKEN_SCALE_INPUT = 'daam_token_scale'

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
/** A node with one output, named like its output (names only need to be unique and readable). */
function op(opType: string, input: string[], output: string, attribute?: onnx.IAttributeProto[]): onnx.INodeProto {
  return attribute
    ? { opType, input, output: [output], name: output, attribute }
    : { opType, input, output: [output], name: output }
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
    return { model: original, taps: [], selfAttention, unrecognised, warning, control: false }
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
    op('Shape', [inputs.sample], `${P}sampleShape`),
    op('Gather', [`${P}sampleShape`, `${P}idx0`], `${P}B1d`, [int('axis', 0)]),
    op('Gather', [`${P}sampleShape`, `${P}c0`], `${P}B`, [int('axis', 0)]),
    op('Sub', [`${P}B`, `${P}c1`], `${P}condIdx`),
  ]
  if (axesAsInput) nodes.push(int64Const(`${P}axes1`, [1]), int64Const(`${P}axes0`, [0]))
  const outputs: onnx.IValueInfoProto[] = []
  const taps: TapInfo[] = []

  const reduce = (input: string, out: string, axis = 1): onnx.INodeProto =>
    axesAsInput
      ? op('ReduceMean', [input, `${P}axes${axis}`], out, [int('keepdims', 0)])
      : op('ReduceMean', [input], out, [ints('axes', [axis]), int('keepdims', 0)])
  // each cross-attention's self-attention: the last self site before it with no cross site between
  // (keyed by the cross softmax's name: the entries below are copies of the sites)
  const selfOf = new Map<string, AttentionSite>()
  let lastSelf: AttentionSite | undefined
  for (const site of sites) {
    if (site.kind === 'self') lastSelf = site
    else if (site.kind === 'cross') {
      if (lastSelf) selfOf.set(site.name, lastSelf)
      lastSelf = undefined
    }
  }
  const refine = options.refine === true && options.perHead !== true
  // Attention control scales the probabilities that the product with V reads: a fused node computes
  // its own, so a model with fused cross-attention gets no control (weights are then refused).
  const control = options.control === true && cross.every((e) => e.kind === 'softmax')

  // Attention control. P·(s⊙V) = (P⊙s)·V, and V's rows are the value projection of the text
  // embedding, V = E·Wv with no bias in SD's attn2, so s⊙V = (s⊙E)·Wv: the layers' value
  // projections read Es = E * CastLike(Reshape(scale, [B, T, 1]), E), one Mul on [B, T, D] for the
  // whole U-Net instead of one on [B, heads, HW, T] per layer (valueProjection checks the path).
  // Elsewhere, per site, Ps = Reshape(P4 * CastLike(Reshape(scale, [B, 1, 1, T]), P4), Shape(P)) and
  // the site's consumers (the product with V) read Ps. The taps read the softmax itself either way.
  const siteTails = new Map<string, onnx.INodeProto[]>()
  const scaled = new Map<string, string>()
  /** Nodes to rewire: first output name -> (input -> replacement). */
  const rewired = new Map<string, Map<string, string>>()
  const graph = control ? graphIndex(scanned) : undefined
  const scaledText = new Map<string, string>()
  // nodes that read only graph inputs: they go first, before every node that may read them
  const early: onnx.INodeProto[] = []
  const scaleValues = (v: { node: onnx.NodeProto; input: string }): void => {
    let es = scaledText.get(v.input)
    if (!es) {
      es = `${P}es${scaledText.size}`
      if (scaledText.size === 0) {
        early.push(
          int64Const(`${P}scale3Shape`, [0, -1, 1]),
          op('Reshape', [TOKEN_SCALE_INPUT, `${P}scale3Shape`], `${P}scale3`),
        )
      }
      scaledText.set(v.input, es)
      const mul: onnx.INodeProto[] = [
        ...(opset >= 15 ? [op('CastLike', [`${P}scale3`, v.input], `${es}/s`)] : []),
        op('Mul', [v.input, opset >= 15 ? `${es}/s` : `${P}scale3`], es),
      ]
      // a graph input: with the shared nodes; else right after the node that makes it (a Cast)
      if (graph!.producer.has(v.input)) siteTails.set(v.input, mul)
      else early.push(...mul)
    }
    const key = v.node.output[0]
    rewired.set(key, new Map([...(rewired.get(key) ?? []), [v.input, es]]))
  }
  let probsScaleMade = false
  const sharedCount = nodes.length // the hook's shared nodes; each site's follow

  cross.forEach((entry, index) => {
    const t = `${P}attn${index}/`
    const first = nodes.length
    const site =
      entry.kind === 'softmax'
        ? entry
        : {
            probs: recomputeProbs(entry.site, t, nodes),
            name: entry.site.pathName || entry.site.name,
          }
    let scaleTail: onnx.INodeProto[] = []
    const values =
      control && options.controlAt !== 'probs' && entry.kind === 'softmax'
        ? valueProjection(graph!, site.probs, inputs.encoderHiddenStates)
        : undefined
    if (values) scaleValues(values)
    else if (control) {
      if (!probsScaleMade) {
        probsScaleMade = true
        early.push(
          int64Const(`${P}scaleShape`, [0, 1, 1, -1]),
          op('Reshape', [TOKEN_SCALE_INPUT, `${P}scaleShape`], `${P}scale4`),
        )
      }
      const out = `${t}scaled`
      // CastLike keeps float16 exports working (the scale is fed as float32); before opset 15
      // there is no CastLike and the probabilities are float32 in the exports that old.
      const scale = opset >= 15 ? [op('CastLike', [`${P}scale4`, `${t}p4`], `${t}scaleT`)] : []
      scaleTail = [
        ...scale,
        op('Mul', [`${t}p4`, opset >= 15 ? `${t}scaleT` : `${P}scale4`], `${t}p4s`),
        op('Reshape', [`${t}p4s`, `${t}shape`], out),
      ]
      scaled.set(site.probs, out)
    }
    const output = `daam.attn.${index}.cond`
    const uncondOutput = options.negative ? `daam.attn.${index}.uncond` : undefined
    // Heads are averaged before the batch row is picked, so the Gather moves 1/(2*heads) of the
    // probabilities. The Cast comes first because ONNX Runtime's CPU ReduceMean has no float16
    // kernel; on float32 models it is a no-op that the session's optimiser removes.
    nodes.push(
      op('Shape', [site.probs], `${t}shape`),
      op('Slice', [`${t}shape`, `${P}tailStart`, `${P}tailEnd`], `${t}tail`),
      op('Concat', [`${P}B1d`, `${P}minus1`, `${t}tail`], `${t}shape4`, [int('axis', 0)]),
      op('Reshape', [site.probs, `${t}shape4`], `${t}p4`),
      op('Cast', [`${t}p4`], `${t}p4f`, [int('to', FLOAT)]),
      ...(options.perHead ? [op('Identity', [`${t}p4f`], `${t}mean`)] : [reduce(`${t}p4f`, `${t}mean`)]),
      op('Gather', [`${t}mean`, `${P}condIdx`], output, [int('axis', 0)]),
    )
    outputs.push({ name: output, type: { tensorType: { elemType: FLOAT } } })
    if (uncondOutput) {
      nodes.push(op('Gather', [`${t}mean`, `${P}c0`], uncondOutput, [int('axis', 0)]))
      outputs.push({ name: uncondOutput, type: { tensorType: { elemType: FLOAT } } })
    }
    const selfSite = refine && entry.kind === 'softmax' ? selfOf.get(entry.name) : undefined
    let refinedOutput: string | undefined
    if (selfSite) {
      refinedOutput = `daam.refined.${index}.cond`
      nodes.push(
        op('Shape', [selfSite.probs], `${t}sshape`),
        op('Slice', [`${t}sshape`, `${P}tailStart`, `${P}tailEnd`], `${t}stail`),
        op('Concat', [`${P}B1d`, `${P}minus1`, `${t}stail`], `${t}sshape4`, [int('axis', 0)]),
        op('Reshape', [selfSite.probs, `${t}sshape4`], `${t}s4`),
        op('Gather', [`${t}s4`, `${P}condIdx`], `${t}scond`, [int('axis', 0)]),
        op('Cast', [`${t}scond`], `${t}scondf`, [int('to', FLOAT)]),
        reduce(`${t}scondf`, `${t}smean`, 0),
        op('MatMul', [`${t}smean`, output], refinedOutput),
      )
      outputs.push({ name: refinedOutput, type: { tensorType: { elemType: FLOAT } } })
    }
    const described = describeLayer(site.name)
    // exporters that leave nodes unnamed still get a readable, stable layer name
    if (!described.name) described.name = `cross-attention ${index}`
    const recomputed = entry.kind === 'fused' ? { softmax: entry.site.name, recomputed: true } : { softmax: site.name }
    taps.push({
      index,
      ...described,
      ...recomputed,
      output,
      uncondOutput,
      perHead: options.perHead === true,
      refinedOutput,
      selfSoftmax: selfSite?.name,
      ...(control ? { controlAt: values ? ('values' as const) : ('probs' as const) } : {}),
    })
    // with control the site's nodes go right after its softmax (see rewireToScaled)
    // scaling the probabilities: the site's nodes go right after its softmax (the product with V
    // reads Ps); the other taps go after the whole graph, as appended ones do (measured: placed
    // after each softmax they cost ~1 % more per call on the bundled U-Net)
    if (control && !values) siteTails.set(site.probs, [...nodes.splice(first), ...scaleTail])
  })

  if (!control) {
    return { model: appendToGraph(bytes, nodes, outputs), taps, selfAttention, unrecognised, control: false }
  }
  const input: onnx.IValueInfoProto = {
    name: TOKEN_SCALE_INPUT,
    type: {
      tensorType: { elemType: FLOAT, shape: { dim: [{ dimParam: 'batch' }, { dimParam: 'tokens' }] } },
    },
  }
  for (const [probs, out] of scaled) {
    for (const c of graph!.consumers.get(probs) ?? []) {
      const key = scanned.nodes[c].output[0]
      rewired.set(key, new Map([...(rewired.get(key) ?? []), [probs, out]]))
    }
  }
  const model = rewireToScaled(
    bytes,
    [...nodes.slice(0, sharedCount), ...early],
    outputs,
    input,
    rewired,
    siteTails,
    nodes.slice(sharedCount),
  )
  return { model, taps, selfAttention, unrecognised, control: true }
}

/**
 * The control patch cannot be appended: existing nodes (the value projections, or the products
 * with V) must read the scaled tensors. So the graph is rewritten field by field (weights copied
 * as bytes, never decoded, as engine/float32-io.ts does): the hook's shared nodes go first (they
 * read only graph inputs), each node that makes a tensor in `after` (a tapped softmax, the Cast of
 * the text input) is followed by that tensor's nodes, `trailing` (the taps) goes last, and only
 * the nodes in `rewired` (keyed by their first output) are decoded and re-encoded with their
 * inputs replaced. Several `graph` fields (an already patched model) are merged as protobuf
 * merges them.
 */
function rewireToScaled(
  bytes: Uint8Array,
  shared: onnx.INodeProto[],
  outputs: onnx.IValueInfoProto[],
  input: onnx.IValueInfoProto,
  rewired: ReadonlyMap<string, ReadonlyMap<string, string>>,
  after: ReadonlyMap<string, onnx.INodeProto[]>,
  trailing: onnx.INodeProto[] = [],
): Buffer {
  const needles = [...rewired.keys(), ...after.keys()].map((n) => Buffer.from(n, 'utf8'))
  const encodeNode = (n: onnx.INodeProto) => lengthField(GRAPH_NODE, onnx.NodeProto.encode(n).finish())
  const parts: Uint8Array[] = shared.map(encodeNode)
  const before: Uint8Array[] = []
  const tail: Uint8Array[] = []
  let sawGraph = false
  for (const f of protoFields(bytes)) {
    if (f.field !== MODEL_GRAPH) {
      ;(sawGraph ? tail : before).push(f.raw)
      continue
    }
    sawGraph = true
    for (const g of protoFields(f.body)) {
      const body = Buffer.from(g.body.buffer, g.body.byteOffset, g.body.byteLength)
      if (g.field !== GRAPH_NODE || !needles.some((n) => body.includes(n))) {
        parts.push(g.raw)
        continue
      }
      const node = onnx.NodeProto.decode(g.body)
      const swap = rewired.get(node.output[0])
      // a needle can also occur as part of a longer name: such nodes stay as they are
      if (swap) {
        node.input = node.input.map((i) => swap.get(i) ?? i)
        parts.push(encodeNode(node))
      } else parts.push(g.raw)
      for (const o of node.output) parts.push(...(after.get(o) ?? []).map(encodeNode))
    }
  }
  parts.push(...trailing.map(encodeNode))
  parts.push(lengthField(GRAPH_INPUT, onnx.ValueInfoProto.encode(input).finish()))
  for (const o of outputs) parts.push(lengthField(GRAPH_OUTPUT, onnx.ValueInfoProto.encode(o).finish()))
  return Buffer.concat([...before, lengthField(MODEL_GRAPH, Buffer.concat(parts)), ...tail])
}

interface GraphIndex {
  nodes: readonly onnx.NodeProto[]
  producer: Map<string, number>
  consumers: Map<string, number[]>
  inputs: Set<string>
}

function graphIndex(scanned: ScannedModel): GraphIndex {
  const producer = new Map<string, number>()
  const consumers = new Map<string, number[]>()
  scanned.nodes.forEach((n, i) => {
    for (const o of n.output) producer.set(o, i)
    for (const x of n.input) if (x) consumers.set(x, [...(consumers.get(x) ?? []), i])
  })
  return { nodes: scanned.nodes, producer, consumers, inputs: new Set(scanned.inputs.map((v) => v.name)) }
}

/** Ops that move values without changing them (the head split between a projection and V). */
const LAYOUT_ONLY = new Set(['Reshape', 'Transpose', 'Identity', 'Squeeze', 'Unsqueeze'])

/**
 * The value projection a cross-attention's probabilities are multiplied with, when scaling its
 * input rows is exactly scaling V's rows: the softmax's only consumer is MatMul(P, V); V comes from
 * a MatMul(E, constant W) through layout ops only, each tensor on the way used by nothing else
 * (Shape aside: a V shared with the keys would scale them too); E is the text input or its Cast
 * (float32-io), [B, T, D]. A bias Add (or anything else) on the way: undefined (scale P instead).
 */
function valueProjection(
  g: GraphIndex,
  probs: string,
  text: string,
): { node: onnx.NodeProto; input: string } | undefined {
  const users = (t: string) => (g.consumers.get(t) ?? []).filter((i) => g.nodes[i].opType !== 'Shape')
  const pv = users(probs)
  if (pv.length !== 1 || g.nodes[pv[0]].opType !== 'MatMul' || g.nodes[pv[0]].input[0] !== probs) return undefined
  let t = g.nodes[pv[0]].input[1]
  for (let hop = 0; hop < 12; hop++) {
    const p = g.producer.get(t)
    if (p === undefined || users(t).length !== 1) return undefined
    const n = g.nodes[p]
    if (n.opType === 'MatMul') {
      const w = g.producer.get(n.input[1])
      const constant = w === undefined ? !g.inputs.has(n.input[1]) : g.nodes[w].opType === 'Constant'
      const e = n.input[0]
      const cast = g.producer.get(e)
      const isText =
        e === text || (cast !== undefined && g.nodes[cast].opType === 'Cast' && g.nodes[cast].input[0] === text)
      return constant && isText ? { node: n, input: e } : undefined
    }
    if (!LAYOUT_ONLY.has(n.opType)) return undefined
    t = n.input[0]
  }
  return undefined
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
    nodes.push(op(opType, input, `${t}${name}`, attribute))
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
