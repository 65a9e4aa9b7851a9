/**
 * Conversion at the ONNX boundary: the pipeline works in float32 / plain numbers; each session
 * input is built in the dtype and rank its metadata declares (float32 tensors, int32 or int64
 * ids, timestep as int64 [B], float [B] or a rank-0 float scalar). Float16 never crosses the
 * boundary: model.ts gives every session float32 inputs and outputs (float32-io.ts), because
 * onnxruntime-node 1.30 cannot pass float16 tensors on Node 24.
 */
import * as ort from 'onnxruntime-node'

export type TensorMeta = { name: string; type: ort.Tensor.Type; shape: ReadonlyArray<number | string> }

/** Tensor metadata by name, with a precise error when an expected input is absent or not a tensor. */
export function tensorMeta(
  metas: readonly ort.InferenceSession.ValueMetadata[],
  name: string,
  where: string,
): TensorMeta {
  const m = metas.find((x) => x.name === name)
  if (!m) {
    throw new Error(`${where}: has no '${name}' (it has: ${metas.map((x) => x.name).join(', ') || 'nothing'})`)
  }
  if (!m.isTensor) throw new Error(`${where}: '${name}' is not a tensor`)
  return { name, type: m.type, shape: m.shape }
}

/** A float32 input tensor (float16 models have a float32 boundary, see float32-io.ts). */
export function floatTensor(meta: TensorMeta, data: Float32Array, dims: readonly number[]): ort.Tensor {
  if (meta.type === 'float32') return new ort.Tensor('float32', data, dims)
  throw new Error(`input '${meta.name}' has unsupported type ${meta.type} (expected float32)`)
}

/** The data of a float32 output. */
export function readFloat(t: ort.Tensor, what: string): Float32Array {
  if (t.type === 'float32') return t.data as Float32Array
  throw new Error(`${what}: unexpected output type ${t.type}`)
}

/** input_ids in int32 or int64, shape [B, L]. */
export function idsTensor(meta: TensorMeta, ids: readonly number[], batch: number): ort.Tensor {
  const len = ids.length / batch
  if (meta.type === 'int64')
    return new ort.Tensor(
      'int64',
      BigInt64Array.from(ids, (v) => BigInt(v)),
      [batch, len],
    )
  if (meta.type === 'int32') return new ort.Tensor('int32', Int32Array.from(ids), [batch, len])
  throw new Error(`input '${meta.name}' has unsupported type ${meta.type} (expected int32 or int64)`)
}

/**
 * The timestep as the model declares it. Integer timesteps are rounded (Euler's are fractional);
 * a rank-0 input gets a scalar, otherwise one value per batch entry.
 */
export function timestepTensor(meta: TensorMeta, t: number, batch: number): ort.Tensor {
  const scalar = meta.shape.length === 0
  // Some exports fix the timestep at [1] while the batch is 2: one value broadcasts in the graph.
  const n = scalar ? 1 : meta.shape[0] === 1 ? 1 : batch
  const dims = scalar ? [] : [n]
  switch (meta.type) {
    case 'int64':
      return new ort.Tensor('int64', new BigInt64Array(n).fill(BigInt(Math.round(t))), dims)
    case 'int32':
      return new ort.Tensor('int32', new Int32Array(n).fill(Math.round(t)), dims)
    case 'float32':
      return new ort.Tensor('float32', new Float32Array(n).fill(t), dims)
    case 'float64':
      return new ort.Tensor('float64', new Float64Array(n).fill(t), dims)
    default:
      throw new Error(`input '${meta.name}' has unsupported timestep type ${meta.type}`)
  }
}

/** A declared dimension as a number, or undefined when symbolic/dynamic. */
export function staticDim(meta: TensorMeta, axis: number): number | undefined {
  const d = meta.shape[axis]
  return typeof d === 'number' && d > 0 ? d : undefined
}
