/**
 * Finds the cross-attention softmaxes of a U-Net graph by structure, not by name:
 * a softmax's scores come from MatMul(Q, K^T) (or Einsum / FusedMatMul; possibly followed by a
 * scale Mul/Div, a mask Add or a Cast); for cross-attention one MatMul operand (the keys) derives from the text embeddings
 * (`encoder_hidden_states`) alone, the other (the queries) from the image path (`sample`).
 * Self-attention has both operands on the image path and is never tapped.
 *
 * Exports run through ONNX Runtime's transformer optimizer have no softmax: attention is fused into
 * com.microsoft.MultiHeadAttention. Those whose key comes from the text alone (separate Q/K/V, or
 * K and V packed as [B, L, heads, 2, head_dim]) are returned as fused cross-attention sites, from
 * whose inputs patch-unet.ts recomputes the probabilities. Callers: patch-unet.ts (the hook) and
 * the memory profile's scan.
 */
import type { onnx } from 'onnx-proto'
import type { ScannedModel } from './onnx-scan'

/** Ops through which we walk up from a Softmax to the score MatMul. */
const SCORE_PASS_THROUGH = new Set(['Mul', 'Div', 'Add', 'Sub', 'Cast', 'Where'])
/** Ops whose output carries no data from their inputs (only shapes): not data dependencies. */
const SHAPE_ONLY = new Set(['Shape', 'Size'])
/** Fused attention ops of ONNX Runtime's transformer optimizer: no softmax to tap. */
const FUSED_ATTENTION = new Set([
  'MultiHeadAttention',
  'Attention',
  'PackedMultiHeadAttention',
  'PackedAttention',
  'GroupQueryAttention',
])

export interface AttentionSite {
  /** Index of the Softmax node in the graph's node list. */
  nodeIndex: number
  /** Softmax node name (may be empty in some exports). */
  name: string
  /** Output tensor of the softmax: the attention probabilities. */
  probs: string
  kind: 'cross' | 'self' | 'unknown'
}

/** A fused cross-attention node whose probabilities can be recomputed from its inputs. */
export interface FusedCrossSite {
  /** Index of the fused node in the graph's node list. */
  nodeIndex: number
  /** Fused node name (ORT's optimizer names them MultiHeadAttention_N). */
  name: string
  /** A nearby node name that carries the diffusers module path, for naming the layer. */
  pathName: string
  /** 'separate': key [B, L, heads*head_dim]; 'packed-kv': key [B, L, heads, 2, head_dim]. */
  layout: 'separate' | 'packed-kv'
  query: string
  key: string
  /** Optional bias [3 * heads*head_dim] (Q, K, V) added to the projections inside the kernel. */
  bias?: string
  numHeads: number
  /** The node's `scale` attribute; undefined means 1/sqrt(head_dim). */
  scale?: number
}

export interface AttentionScan {
  sites: AttentionSite[]
  /** Names of fused attention nodes found (com.microsoft domain). */
  fused: string[]
  /** Fused cross-attention nodes the hook can recompute probabilities for, in graph order. */
  fusedCross: FusedCrossSite[]
}

export interface GraphInputNames {
  sample: string
  encoderHiddenStates: string
}

/** Picks the U-Net's image and text inputs; diffusers/Optimum exports use these names. */
export function unetInputNames(model: ScannedModel): GraphInputNames {
  const names = model.inputs.map((i) => i.name)
  const sample = names.find((n) => n === 'sample') ?? names.find((n) => /sample|latent/i.test(n))
  const ehs =
    names.find((n) => n === 'encoder_hidden_states') ?? names.find((n) => /encoder|hidden|context|text/i.test(n))
  if (!sample || !ehs) {
    throw new Error(`U-Net graph inputs ${JSON.stringify(names)} lack 'sample' and/or 'encoder_hidden_states'`)
  }
  return { sample, encoderHiddenStates: ehs }
}

export function findAttention(model: ScannedModel, inputs: GraphInputNames): AttentionScan {
  const { nodes } = model
  const producer = new Map<string, number>()
  nodes.forEach((n, i) => n.output.forEach((o) => producer.set(o, i)))
  const SAMPLE = 1
  const TEXT = 2
  const inputBits = new Map<string, number>([
    [inputs.sample, SAMPLE],
    [inputs.encoderHiddenStates, TEXT],
  ])

  // Which of {sample, text} each tensor depends on. Iterative post-order DFS with memo: U-Net
  // graphs have thousands of nodes, recursion could overflow the stack.
  const memo = new Map<string, number>()
  const dependsOn = (tensor: string): number => {
    const stack: string[] = [tensor]
    while (stack.length > 0) {
      const t = stack[stack.length - 1]
      if (memo.has(t)) {
        stack.pop()
        continue
      }
      const p = producer.get(t)
      if (p === undefined) {
        memo.set(t, inputBits.get(t) ?? 0)
        stack.pop()
        continue
      }
      const node = nodes[p]
      if (SHAPE_ONLY.has(node.opType)) {
        memo.set(t, 0)
        stack.pop()
        continue
      }
      let bits = 0
      let pending = false
      for (const inp of node.input) {
        if (inp === '') continue
        const m = memo.get(inp)
        if (m === undefined) {
          stack.push(inp)
          pending = true
        } else bits |= m
      }
      if (!pending) {
        for (const o of node.output) memo.set(o, bits)
        stack.pop()
      }
    }
    return memo.get(tensor)!
  }

  const sites: AttentionSite[] = []
  const fused: string[] = []
  const fusedCross: FusedCrossSite[] = []
  nodes.forEach((node, nodeIndex) => {
    if (FUSED_ATTENTION.has(node.opType) && node.domain === 'com.microsoft') {
      fused.push(node.name || node.opType)
      const site = fusedCrossSite(node, nodeIndex, nodes, producer, dependsOn, SAMPLE, TEXT)
      if (site) fusedCross.push(site)
    }
    if (node.opType !== 'Softmax' || (node.domain ?? '') !== '') return
    const matmul = scoreMatMul(node.input[0], nodes, producer, dependsOn)
    let kind: AttentionSite['kind'] = 'unknown'
    if (matmul) {
      const a = dependsOn(matmul.input[0])
      const b = dependsOn(matmul.input[1])
      if ((a === TEXT && b & SAMPLE) || (b === TEXT && a & SAMPLE)) kind = 'cross'
      else if (a & SAMPLE && b & SAMPLE) kind = 'self'
    }
    sites.push({ nodeIndex, name: node.name ?? '', probs: node.output[0], kind })
  })
  return { sites, fused, fusedCross }
}

/** Name pieces of a diffusers attention module path (".../transformer_blocks.0/attn2"). */
const MODULE_PATH = /(down_blocks|up_blocks|mid_block)[^]*?attn\d+/

/**
 * A com.microsoft.MultiHeadAttention node is cross-attention when its query derives from the image
 * and its key from the text alone. Inputs (ORT contrib op): query, key, value, bias,
 * key_padding_mask, attention_bias, past_key, past_value. Nodes with a mask, an attention bias or
 * past state are not SD cross-attention and are left alone, as are `Attention` nodes (one input:
 * always self-attention in U-Nets).
 */
function fusedCrossSite(
  node: onnx.NodeProto,
  nodeIndex: number,
  nodes: onnx.NodeProto[],
  producer: Map<string, number>,
  dependsOn: (t: string) => number,
  SAMPLE: number,
  TEXT: number,
): FusedCrossSite | undefined {
  if (node.opType !== 'MultiHeadAttention') return undefined
  const input = (i: number): string => node.input[i] ?? ''
  const query = input(0)
  const key = input(1)
  if (!query || !key || !(dependsOn(query) & SAMPLE) || dependsOn(key) !== TEXT) return undefined
  if ([4, 5, 6, 7].some((i) => input(i) !== '')) return undefined
  const attr = (name: string) => node.attribute.find((a) => a.name === name)
  const numHeads = Number(attr('num_heads')?.i ?? 0)
  if (!(numHeads > 0)) return undefined
  const scaleAttr = attr('scale')?.f
  // Exporters name the projections after the module ("/up_blocks.1/.../attn2/to_q/MatMul"); ORT's
  // optimizer names the fused node itself "MultiHeadAttention_N", so look at its neighbours.
  const near = [node.name, query, key, ...[query, key].map((t) => nodes[producer.get(t) ?? -1]?.name ?? '')]
  const pathName = near.map((n) => MODULE_PATH.exec(n ?? '')?.[0]).find((n) => n !== undefined) ?? ''
  return {
    nodeIndex,
    name: node.name ?? '',
    pathName,
    layout: input(2) === '' ? 'packed-kv' : 'separate',
    query,
    key,
    bias: input(3) || undefined,
    numHeads,
    scale: scaleAttr ? scaleAttr : undefined,
  }
}

/** Walks up from the softmax input through scale/mask/cast ops to the Q·K^T MatMul. */
function scoreMatMul(
  start: string,
  nodes: onnx.NodeProto[],
  producer: Map<string, number>,
  dependsOn: (t: string) => number,
): onnx.NodeProto | undefined {
  let tensor = start
  for (let hop = 0; hop < 8; hop++) {
    const p = producer.get(tensor)
    if (p === undefined) return undefined
    const node = nodes[p]
    // Q·K^T: MatMul (diffusers/Optimum exports), Einsum (einsum-based attention code) or
    // com.microsoft FusedMatMul (ORT's optimizer folded the scale into the MatMul).
    if (
      node.opType === 'MatMul' ||
      node.opType === 'FusedMatMul' ||
      (node.opType === 'Einsum' && node.input.length === 2)
    )
      return node
    if (!SCORE_PASS_THROUGH.has(node.opType)) return undefined
    // Follow the operand that carries data (the other is a scale or mask constant). For Where,
    // operand 0 is the condition; for a mask Add both may carry data: the scores come first.
    const candidates = node.opType === 'Where' ? node.input.slice(1) : node.input
    const next = candidates.find((i) => i !== '' && dependsOn(i) !== 0)
    if (next === undefined) return undefined
    tensor = next
  }
  return undefined
}
