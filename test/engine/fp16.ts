/**
 * Test-time graph rewrite that makes a float16 variant of an ONNX model, the way fp16 exports
 * look from the outside: float inputs and outputs are float16, and every float32 initializer is
 * stored as float16 (halving the weights' precision). Computation stays float32 inside (a Cast
 * after each float16 initializer/input, before each output), so every operator keeps the types
 * it was exported with, whatever the graph contains.
 */
import { onnx } from 'onnx-proto'
import { float32ToFloat16 } from '../../src/shared/float16'

const FLOAT = onnx.TensorProto.DataType.FLOAT
const FLOAT16 = onnx.TensorProto.DataType.FLOAT16

function castNode(input: string, output: string, to: number): onnx.INodeProto {
  return {
    opType: 'Cast',
    input: [input],
    output: [output],
    name: `fp16_rewrite_cast_${output}`,
    attribute: [{ name: 'to', type: onnx.AttributeProto.AttributeType.INT, i: to }],
  }
}

function floatValues(t: onnx.ITensorProto): Float32Array | null {
  if (t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL) return null
  if (t.rawData && t.rawData.length > 0) {
    const copy = new Uint8Array(t.rawData) // aligned copy
    return new Float32Array(copy.buffer, 0, copy.length / 4)
  }
  if (t.floatData && t.floatData.length > 0) return Float32Array.from(t.floatData)
  const n = (t.dims ?? []).reduce((a, b) => a * Number(b), 1)
  return n === 0 ? new Float32Array(0) : null
}

export function toFloat16Model(bytes: Uint8Array): Uint8Array {
  const m = onnx.ModelProto.decode(bytes)
  const g = m.graph as onnx.GraphProto
  const pre: onnx.INodeProto[] = []
  const post: onnx.INodeProto[] = []

  // Initializers: store as float16 under a new name, cast back to the original name.
  const inits: onnx.ITensorProto[] = []
  for (const t of g.initializer) {
    const values = t.dataType === FLOAT ? floatValues(t) : null
    if (!values) {
      inits.push(t)
      continue
    }
    const half = float32ToFloat16(values)
    const name = String(t.name)
    inits.push({ name: `${name}__fp16`, dims: t.dims, dataType: FLOAT16, rawData: new Uint8Array(half.buffer) })
    pre.push(castNode(`${name}__fp16`, name, FLOAT))
  }

  const rename = (from: string, to: string) => {
    for (const n of g.node) {
      n.input = (n.input ?? []).map((x) => (x === from ? to : x))
      n.output = (n.output ?? []).map((x) => (x === from ? to : x))
    }
  }

  // Float inputs become float16; the graph keeps reading a float32 copy.
  for (const inp of g.input) {
    const tt = inp.type?.tensorType
    const name = String(inp.name)
    if (!tt || tt.elemType !== FLOAT || g.initializer.some((t) => t.name === name)) continue
    rename(name, `${name}__f32`)
    tt.elemType = FLOAT16
    pre.push(castNode(name, `${name}__f32`, FLOAT))
  }
  // Float outputs are produced as float32 internally and cast to float16 at the end.
  for (const out of g.output) {
    const tt = out.type?.tensorType
    const name = String(out.name)
    if (!tt || tt.elemType !== FLOAT) continue
    rename(name, `${name}__f32`)
    tt.elemType = FLOAT16
    post.push(castNode(`${name}__f32`, name, FLOAT16))
  }

  g.initializer = inits as onnx.TensorProto[]
  g.node = [...pre, ...g.node, ...post] as onnx.NodeProto[]
  // Intermediate type annotations may now be stale; ORT re-infers them.
  g.valueInfo = []
  return onnx.ModelProto.encode(m).finish()
}
