/**
 * Allocation failures become one plain-language 'out-of-memory' error: tested on messages ONNX
 * Runtime really produced (one provoked live from a tiny graph that asks for a huge buffer, one
 * captured from the bundled model at 2048²) and on messages that are not allocation failures.
 */
import * as ort from 'onnxruntime-node'
import { onnx } from 'onnx-proto'
import { describe, expect, it } from 'vitest'
import { AppError } from '../../shared/ipc/result'
import { isOutOfMemory, outOfMemoryError } from './ort-errors'

/** y = ConstantOfShape(shape): the output size is whatever the caller asks for. */
function constantOfShapeModel(): Uint8Array {
  const INT64 = onnx.TensorProto.DataType.INT64
  const FLOAT = onnx.TensorProto.DataType.FLOAT
  return onnx.ModelProto.encode({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }],
    graph: {
      name: 'alloc',
      node: [{ opType: 'ConstantOfShape', input: ['shape'], output: ['y'], name: 'fill' }],
      input: [{ name: 'shape', type: { tensorType: { elemType: INT64, shape: { dim: [{ dimValue: 1 }] } } } }],
      output: [{ name: 'y', type: { tensorType: { elemType: FLOAT, shape: { dim: [{ dimParam: 'n' }] } } } }],
    },
  }).finish()
}

/** Captured from `runGeneration` on models/daam-shapes at 2048×2048 (bench/memory-peaks.ts --child 2048). */
const BUNDLED_2048 =
  "Non-zero status code returned while running FusedMatMul node. Name:'/down_blocks.0/attentions.0/transformer_blocks.0/attn1/MatMul/MatmulTransposeFusion//MatMulScaleFusion/' Status Message: /onnxruntime_src/onnxruntime/core/framework/bfc_arena.cc:360 void* onnxruntime::BFCArena::AllocateRawInternal(size_t, bool, onnxruntime::Stream*) Failed to allocate memory for requested buffer of size 68719476736"

describe('ONNX Runtime allocation failures', () => {
  it('a real failure from a graph asking for 4 TB becomes a plain out-of-memory error', async () => {
    const session = await ort.InferenceSession.create(constantOfShapeModel())
    try {
      // a working call first: the graph is fine, only the size is not
      const small = await session.run({ shape: new ort.Tensor('int64', BigInt64Array.from([4n]), [1]) })
      expect(small.y.dims).toEqual([4])
      const error = await session.run({ shape: new ort.Tensor('int64', BigInt64Array.from([2n ** 40n]), [1]) }).then(
        () => null,
        (e: unknown) => e,
      )
      expect(error).toBeInstanceOf(Error)
      expect(isOutOfMemory(error)).toBe(true)
      const mapped = outOfMemoryError(error, 'generating a 2048×2048 image')
      expect(mapped).toBeInstanceOf(AppError)
      expect(mapped!.code).toBe('out-of-memory')
      expect(mapped!.message).toMatch(/^Out of memory while generating a 2048×2048 image\./)
      expect(mapped!.message).not.toMatch(/onnxruntime_src|bfc_arena/)
    } finally {
      await session.release()
    }
  })

  it('the bundled model’s 2048² failure names the 64 GB buffer', () => {
    const mapped = outOfMemoryError(
      new Error(BUNDLED_2048),
      'generating a 2048×2048 image',
      'The largest size that fits is 640×640.',
    )!
    expect(mapped.code).toBe('out-of-memory')
    expect(mapped.message).toBe(
      'Out of memory while generating a 2048×2048 image. ONNX Runtime asked for 64 GB in one piece and the system refused. The largest size that fits is 640×640.',
    )
  })

  it('recognises every shape of allocation failure, and nothing else', () => {
    for (const m of [
      'std::bad_alloc',
      'Exception during initialization: bad_alloc',
      'onnxruntime::OnnxRuntimeException: Out of memory',
      'mmap failed: Cannot allocate memory',
      'RangeError: Array buffer allocation failed',
    ])
      expect(isOutOfMemory(new Error(m)), m).toBe(true)
    for (const m of [
      'Got invalid dimensions for input: sample for the following indices index: 2 Got: 17 Expected: 16',
      'Load model from x.onnx failed:Protobuf parsing failed.',
      'Session already disposed.',
    ]) {
      expect(isOutOfMemory(new Error(m)), m).toBe(false)
      expect(outOfMemoryError(new Error(m), 'loading')).toBeNull()
    }
  })
})
