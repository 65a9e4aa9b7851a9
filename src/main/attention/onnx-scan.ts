/**
 * Reads the structure of an ONNX model (nodes, graph inputs/outputs, opsets) WITHOUT decoding its
 * weights. A real U-Net is several GB; decoding every TensorProto would copy all of it into JS
 * objects. Instead we walk the top-level protobuf fields ourselves and decode only the small
 * messages we need (NodeProto, ValueInfoProto, OperatorSetIdProto). Initializers (GraphProto
 * field 5) are skipped by length: any tensor name that no node produces and that is not a graph
 * input is, for our purposes, a constant.
 */
import { Reader, Writer } from 'protobufjs/minimal'
import { onnx } from 'onnx-proto'

/**
 * Protobuf field numbers from onnx.proto (stable since IR v3) and the wire types used: the one
 * list for the graph code that walks models without decoding them (this scan, engine/float32-io.ts,
 * engine/external-data.ts).
 */
export const MODEL_GRAPH = 7
export const MODEL_OPSET_IMPORT = 8
export const GRAPH_NODE = 1
export const GRAPH_INITIALIZER = 5
export const GRAPH_INPUT = 11
export const GRAPH_OUTPUT = 12
export const GRAPH_VALUE_INFO = 13
export const TENSOR_NAME = 8
export const TENSOR_EXTERNAL_DATA = 13
export const WIRE_VARINT = 0
export const WIRE_LEN = 2

export interface ScannedModel {
  /** Nodes of the main graph in file order (ONNX requires topological order). */
  nodes: onnx.NodeProto[]
  inputs: onnx.ValueInfoProto[]
  outputs: onnx.ValueInfoProto[]
  /** Opset version per domain ('' = default ONNX domain). */
  opsets: Map<string, number>
}

/** One top-level protobuf field of a message. */
export interface ProtoField {
  field: number
  wire: number
  /** The whole field: tag, length and body. */
  raw: Uint8Array
  /** The body of a length-delimited field (empty for other wire types). */
  body: Uint8Array
}

/**
 * Walks the top-level fields of a protobuf message without decoding them: the one field walker of
 * the graph code (this scan, the patch's append, engine/float32-io.ts's rewrite).
 */
export function* protoFields(buf: Uint8Array): Generator<ProtoField> {
  const r = Reader.create(buf)
  while (r.pos < r.len) {
    const start = r.pos
    const tag = r.uint32()
    const field = tag >>> 3
    const wire = tag & 7
    if (wire === WIRE_LEN) {
      const len = r.uint32()
      const bodyStart = r.pos
      if (bodyStart + len > r.len) throw new Error('not an ONNX model: truncated protobuf field')
      r.pos = bodyStart + len
      yield { field, wire, raw: buf.subarray(start, r.pos), body: buf.subarray(bodyStart, r.pos) }
    } else {
      r.skipType(wire)
      yield { field, wire, raw: buf.subarray(start, r.pos), body: buf.subarray(0, 0) }
    }
  }
}

/** Returns the bytes of each length-delimited field `field` at the top level of `buf`. */
export function* lengthDelimited(buf: Uint8Array, wanted: ReadonlySet<number>): Generator<[number, Uint8Array]> {
  for (const f of protoFields(buf)) if (f.wire === WIRE_LEN && wanted.has(f.field)) yield [f.field, f.body]
}

export function scanModel(bytes: Uint8Array): ScannedModel {
  const nodes: onnx.NodeProto[] = []
  const inputs: onnx.ValueInfoProto[] = []
  const outputs: onnx.ValueInfoProto[] = []
  const opsets = new Map<string, number>()
  let sawGraph = false
  for (const [field, body] of lengthDelimited(bytes, new Set([MODEL_GRAPH, MODEL_OPSET_IMPORT]))) {
    if (field === MODEL_OPSET_IMPORT) {
      const op = onnx.OperatorSetIdProto.decode(body)
      opsets.set(op.domain ?? '', Number(op.version))
      continue
    }
    // A graph field may occur several times (an already-patched model): protobuf merges them.
    sawGraph = true
    for (const [gField, gBody] of lengthDelimited(body, new Set([GRAPH_NODE, GRAPH_INPUT, GRAPH_OUTPUT]))) {
      if (gField === GRAPH_NODE) nodes.push(onnx.NodeProto.decode(gBody))
      else if (gField === GRAPH_INPUT) inputs.push(onnx.ValueInfoProto.decode(gBody))
      else outputs.push(onnx.ValueInfoProto.decode(gBody))
    }
  }
  if (!sawGraph) throw new Error('not an ONNX model: no graph found')
  if (!opsets.has('') && !opsets.has('ai.onnx')) throw new Error('ONNX model declares no default-domain opset')
  if (opsets.has('ai.onnx') && !opsets.has('')) opsets.set('', opsets.get('ai.onnx')!)
  return { nodes, inputs, outputs, opsets }
}

/**
 * Appends nodes and outputs to a model by concatenation: protobuf merges a repeated
 * `ModelProto.graph` message field, so `original ++ encode(ModelProto{graph:{node,output}})`
 * decodes as the original graph with the new nodes and outputs appended. The original bytes are
 * not touched and no weight is decoded.
 */
/**
 * One length-delimited field (tag, length, body), the unit the graph rewrites assemble models
 * from without decoding their weights (patch-unet.ts, engine/float32-io.ts, engine/external-data.ts).
 */
export function lengthField(field: number, body: Uint8Array): Buffer {
  const head = Writer.create()
    .uint32((field << 3) | WIRE_LEN)
    .uint32(body.byteLength)
    .finish()
  return Buffer.concat([head, body])
}

export function appendToGraph(original: Uint8Array, nodes: onnx.INodeProto[], outputs: onnx.IValueInfoProto[]): Buffer {
  const fragment = onnx.ModelProto.encode({ graph: { node: nodes, output: outputs } }).finish()
  return Buffer.concat([original, fragment])
}
