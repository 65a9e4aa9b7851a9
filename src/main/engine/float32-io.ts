/**
 * Float32 at every session boundary: rewrites an ONNX model whose graph inputs or outputs are
 * float16 so that they are float32, with Cast nodes to and from float16 inside the graph. The
 * computation, the weights and their precision are untouched; only the tensors crossing into and
 * out of ONNX Runtime change type.
 *
 * Why: onnxruntime-node 1.30 fails every float16 tensor on Node 24 (Electron 40+): onnxruntime-
 * common maps 'float16' to the runtime's native Float16Array, whose byte length the 1.30 binding
 * reports as 0 ("not enough space: expected N, got 0"). Upstream fix:
 * https://github.com/microsoft/onnxruntime/pull/32323 (open as of onnxruntime 1.30). With this
 * rewrite the app never hands a float16 tensor to the binding, on any Node version, so it keeps
 * working whether or not the fix lands; once it has, this can stay (it costs two Casts).
 *
 * Callers: engine/model.ts `createSession` calls `withFloat32IO` for every session (text encoder,
 * U-Net, possibly patched by the attention hook, and VAE decoder).
 *
 * The rewrite works on protobuf fields, not a decoded ModelProto: initializers (the weights, up to
 * 2 GB) are copied as bytes and never decoded; only nodes that mention a renamed tensor are
 * decoded and re-encoded. Several `graph` fields (a model patched by concatenation, see
 * attention/onnx-scan.ts `appendToGraph`) are merged as protobuf merges them: concatenated.
 * External data stays external: tensors keep their `location` entries, resolved by ONNX Runtime
 * against the model's folder (model.ts passes the folder when the session comes from a buffer).
 */
import { closeSync, fstatSync, openSync, readFileSync, readSync } from 'node:fs'
import { Reader } from 'protobufjs/minimal'
import {
  GRAPH_INITIALIZER,
  GRAPH_INPUT,
  GRAPH_NODE,
  GRAPH_OUTPUT,
  GRAPH_VALUE_INFO,
  lengthField,
  MODEL_GRAPH,
  protoFields,
  TENSOR_NAME,
  WIRE_LEN,
  WIRE_VARINT,
} from '../attention/onnx-scan'
import { onnx } from 'onnx-proto'

const FLOAT = onnx.TensorProto.DataType.FLOAT
const FLOAT16 = onnx.TensorProto.DataType.FLOAT16

/** Suffix of the float16 tensors behind the float32 boundary; unlikely to clash with exporter names. */
export const FLOAT16_SUFFIX = '/daam_float16'

export interface Float16IO {
  /** Graph inputs declared float16 (excluding initializer-backed inputs, which are constants). */
  inputs: string[]
  /** Graph outputs declared float16. */
  outputs: string[]
}

function tensorName(body: Uint8Array): string | undefined {
  for (const f of protoFields(body)) if (f.field === TENSOR_NAME) return Buffer.from(f.body).toString('utf8')
  return undefined
}

function elemType(v: onnx.IValueInfoProto): number | undefined {
  const t = v.type?.tensorType?.elemType
  return t === undefined || t === null ? undefined : Number(t)
}

/** Merged body of every `graph` field of a model, and the model's other top-level fields. */
function splitModel(bytes: Uint8Array): { graph: Uint8Array; before: Uint8Array[]; after: Uint8Array[] } {
  const graphs: Uint8Array[] = []
  const before: Uint8Array[] = []
  const after: Uint8Array[] = []
  for (const f of protoFields(bytes)) {
    if (f.field === MODEL_GRAPH) graphs.push(f.body)
    else (graphs.length === 0 ? before : after).push(f.raw)
  }
  if (graphs.length === 0) throw new Error('not an ONNX model: no graph found')
  return { graph: graphs.length === 1 ? graphs[0] : Buffer.concat(graphs), before, after }
}

function float16IOOfGraph(graph: Uint8Array): Float16IO & { initializers: Set<string> } {
  const initializers = new Set<string>()
  const inputs: onnx.ValueInfoProto[] = []
  const outputs: onnx.ValueInfoProto[] = []
  for (const f of protoFields(graph)) {
    if (f.field === GRAPH_INITIALIZER) {
      const name = tensorName(f.body)
      if (name !== undefined) initializers.add(name)
    } else if (f.field === GRAPH_INPUT) inputs.push(onnx.ValueInfoProto.decode(f.body))
    else if (f.field === GRAPH_OUTPUT) outputs.push(onnx.ValueInfoProto.decode(f.body))
  }
  const inputNames = new Set(inputs.map((v) => v.name))
  return {
    initializers,
    inputs: inputs.filter((v) => elemType(v) === FLOAT16 && !initializers.has(v.name)).map((v) => v.name),
    // An output that is a graph input or an initializer has no producing node to rename; such
    // pass-through outputs do not occur in diffusion exports and are left as they are.
    outputs: outputs
      .filter((v) => elemType(v) === FLOAT16 && !initializers.has(v.name) && !inputNames.has(v.name))
      .map((v) => v.name),
  }
}

/** The float16 graph inputs and outputs of a model (bytes of a ModelProto). */
export function float16IO(bytes: Uint8Array): Float16IO {
  const { inputs, outputs } = float16IOOfGraph(splitModel(bytes).graph)
  return { inputs, outputs }
}

function castNode(input: string, output: string, to: number): onnx.INodeProto {
  return {
    opType: 'Cast',
    name: `daam_float32_io/${output}`,
    input: [input],
    output: [output],
    attribute: [{ name: 'to', type: onnx.AttributeProto.AttributeType.INT, i: to }],
  }
}

/** Renames tensors a node reads or writes; subgraphs (If/Loop/Scan bodies) read outer names too. */
function renameNode(node: onnx.INodeProto, map: ReadonlyMap<string, string>, outputsToo: boolean): void {
  node.input = (node.input ?? []).map((x) => map.get(x) ?? x)
  if (outputsToo) node.output = (node.output ?? []).map((x) => map.get(x) ?? x)
  for (const a of node.attribute ?? []) {
    for (const g of [a.g, ...(a.graphs ?? [])]) for (const n of g?.node ?? []) renameNode(n, map, false)
  }
}

/**
 * The model with float32 graph inputs and outputs in place of float16 ones (Casts inside).
 * Returns `bytes` itself, untouched, when the model has no float16 input or output.
 */
export function toFloat32IO(bytes: Uint8Array): Uint8Array {
  const { graph, before, after } = splitModel(bytes)
  const io = float16IOOfGraph(graph)
  if (io.inputs.length === 0 && io.outputs.length === 0) return bytes
  const rename = new Map<string, string>()
  for (const name of [...io.inputs, ...io.outputs]) rename.set(name, name + FLOAT16_SUFFIX)
  const needles = [...rename.keys()].map((n) => Buffer.from(n, 'utf8'))
  const mentions = (body: Uint8Array) => {
    const b = Buffer.from(body.buffer, body.byteOffset, body.byteLength)
    return needles.some((n) => b.includes(n))
  }
  const inputs = new Set(io.inputs)
  const outputs = new Set(io.outputs)

  const parts: Uint8Array[] = []
  const node = (n: onnx.INodeProto) => lengthField(GRAPH_NODE, onnx.NodeProto.encode(n).finish())
  for (const name of io.inputs) parts.push(node(castNode(name, rename.get(name)!, FLOAT16)))
  for (const f of protoFields(graph)) {
    if (f.field === GRAPH_NODE && mentions(f.body)) {
      const n = onnx.NodeProto.decode(f.body)
      renameNode(n, rename, true)
      parts.push(node(n))
    } else if (f.field === GRAPH_VALUE_INFO && mentions(f.body)) {
      const v = onnx.ValueInfoProto.decode(f.body)
      v.name = rename.get(v.name) ?? v.name
      parts.push(lengthField(f.field, onnx.ValueInfoProto.encode(v).finish()))
    } else if (f.field === GRAPH_INPUT || f.field === GRAPH_OUTPUT) {
      const v = onnx.ValueInfoProto.decode(f.body)
      const boundary = f.field === GRAPH_INPUT ? inputs : outputs
      if (boundary.has(v.name) && v.type?.tensorType) {
        v.type.tensorType.elemType = FLOAT
        parts.push(lengthField(f.field, onnx.ValueInfoProto.encode(v).finish()))
      } else parts.push(f.raw)
    } else parts.push(f.raw)
  }
  for (const name of io.outputs) parts.push(node(castNode(rename.get(name)!, name, FLOAT)))
  return Buffer.concat([...before, lengthField(MODEL_GRAPH, Buffer.concat(parts)), ...after])
}

/**
 * `float16IO` of a model file without reading its weights: walks the protobuf fields with small
 * positioned reads and skips every initializer by its length, so a 2 GB fp32 model costs a few
 * thousand tiny reads, not 2 GB of memory.
 */
export function float16IOOfFile(path: string): Float16IO {
  const fd = openSync(path, 'r')
  try {
    const size = fstatSync(fd).size
    const head = Buffer.alloc(20)
    // Yields [field, bodyStart, bodyLength] of length-delimited fields in [start, end).
    const walk = function* (start: number, end: number): Generator<[number, number, number]> {
      let pos = start
      while (pos < end) {
        const n = readSync(fd, head, 0, Math.min(head.length, end - pos), pos)
        const r = Reader.create(head.subarray(0, n))
        const tag = r.uint32()
        const wire = tag & 7
        if (wire === WIRE_LEN) {
          const len = r.uint32()
          const bodyStart = pos + r.pos
          if (bodyStart + len > end) throw new Error(`not an ONNX model: ${path} is truncated`)
          yield [tag >>> 3, bodyStart, len]
          pos = bodyStart + len
        } else if (wire === WIRE_VARINT) {
          r.uint64()
          pos += r.pos
        } else {
          r.skipType(wire)
          pos += r.pos
        }
      }
    }
    const read = (start: number, len: number) => {
      const b = Buffer.alloc(len)
      readSync(fd, b, 0, len, start)
      return b
    }
    const graph: Uint8Array[] = []
    for (const [field, start, len] of walk(0, size)) {
      if (field !== MODEL_GRAPH) continue
      // Keep only what float16IOOfGraph reads: inputs, outputs and initializer names.
      for (const [g, s, l] of walk(start, start + len)) {
        if (g === GRAPH_INPUT || g === GRAPH_OUTPUT) graph.push(lengthField(g, read(s, l)))
        else if (g === GRAPH_INITIALIZER) {
          for (const [t, ts, tl] of walk(s, s + l)) {
            if (t === TENSOR_NAME) graph.push(lengthField(g, lengthField(t, read(ts, tl))))
          }
        }
      }
    }
    const { inputs, outputs } = float16IOOfGraph(Buffer.concat(graph))
    return { inputs, outputs }
  } finally {
    closeSync(fd)
  }
}

/**
 * A session source with a float32 boundary: a path stays a path when the model has no float16
 * input or output (its weights are never read here); otherwise the rewritten bytes, which the
 * caller must create the session from with the model's folder for external data.
 */
export function withFloat32IO(source: string | Uint8Array): string | Uint8Array {
  if (typeof source !== 'string') return toFloat32IO(source)
  const io = float16IOOfFile(source)
  return io.inputs.length + io.outputs.length > 0 ? toFloat32IO(readFileSync(source)) : source
}
