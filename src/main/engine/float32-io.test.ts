/**
 * float32-io: float16 models get float32 inputs and outputs, run on Node 24's onnxruntime-node,
 * and compute the same thing as before (in float16 inside). Small graphs built here; the bundled
 * model's float16 variants are covered by test/engine (pipeline and bundled tests).
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as ort from 'onnxruntime-node'
import { onnx } from 'onnx-proto'
import { describe, expect, it } from 'vitest'
import { float32ToFloat16, float16ToFloat32 } from '../../shared/float16'
import { appendToGraph } from '../attention/onnx-scan'
import { sessionOptions } from './session-options'
import { float16IO, float16IOOfFile, toFloat32IO } from './float32-io'

const F16 = onnx.TensorProto.DataType.FLOAT16
const F32 = onnx.TensorProto.DataType.FLOAT

function vi(name: string, elemType: number, dims: number[]): onnx.IValueInfoProto {
  return { name, type: { tensorType: { elemType, shape: { dim: dims.map((d) => ({ dimValue: d })) } } } }
}

const W = new Float32Array([0.5, -2, 3.25, 1 / 3])

/**
 * y = x * w + 1 in float16, plus `sq` = y * y (a second float16 output that is also consumed
 * inside: `y` feeds `sq`). With `external`, w lives in `dir/w.bin`.
 */
function halfModel(external?: string): Uint8Array {
  const wHalf = float32ToFloat16(W)
  const wBytes = new Uint8Array(wHalf.buffer)
  const w: onnx.ITensorProto = { name: 'w', dims: [4], dataType: F16 }
  if (external) {
    writeFileSync(join(external, 'w.bin'), wBytes)
    w.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL
    w.externalData = [
      { key: 'location', value: 'w.bin' },
      { key: 'offset', value: '0' },
      { key: 'length', value: String(wBytes.length) },
    ]
  } else w.rawData = wBytes
  const one: onnx.ITensorProto = {
    name: 'one',
    dims: [],
    dataType: F16,
    rawData: new Uint8Array(float32ToFloat16(new Float32Array([1])).buffer),
  }
  return onnx.ModelProto.encode({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }],
    graph: {
      name: 'half',
      node: [
        { opType: 'Mul', input: ['x', 'w'], output: ['xw'], name: 'mul' },
        { opType: 'Add', input: ['xw', 'one'], output: ['y'], name: 'add' },
        { opType: 'Mul', input: ['y', 'y'], output: ['sq'], name: 'square' },
      ],
      initializer: [w, one],
      input: [vi('x', F16, [4]), vi('count', onnx.TensorProto.DataType.INT64, [1])],
      output: [vi('y', F16, [4]), vi('sq', F16, [4])],
      valueInfo: [vi('xw', F16, [4])],
    },
  }).finish()
}

const X = new Float32Array([1, 2, -3, 0.125])
const feeds = () => ({
  x: new ort.Tensor('float32', X, [4]),
  count: new ort.Tensor('int64', new BigInt64Array([1n]), [1]),
})
/**
 * The computation in JS with the float16 weights. ONNX Runtime's CPU kernels compute float16 Mul
 * and Add in float32 and may drop the intermediate rounding, so results agree to float16
 * precision, not bit for bit.
 */
function expected(): { y: Float32Array; sq: Float32Array } {
  const w = float16ToFloat32(float32ToFloat16(W))
  const y = X.map((v, i) => v * w[i] + 1)
  return { y, sq: y.map((v) => v * v) }
}
function expectClose(actual: ort.Tensor, wanted: Float32Array): void {
  expect(actual.type).toBe('float32')
  const a = actual.data as Float32Array
  expect(a.length).toBe(wanted.length)
  wanted.forEach((v, i) => expect(Math.abs(a[i] - v)).toBeLessThanOrEqual(1e-3 * Math.max(1, Math.abs(v))))
}

describe('float32 session boundary for float16 models', () => {
  it('rewrites float16 inputs and outputs to float32 and computes the same float16 result', async () => {
    const bytes = halfModel()
    const before = Buffer.from(bytes)
    expect(float16IO(bytes)).toEqual({ inputs: ['x'], outputs: ['y', 'sq'] })
    const out = toFloat32IO(bytes)
    expect(Buffer.from(bytes).equals(before)).toBe(true) // the input is not modified
    expect(float16IO(out)).toEqual({ inputs: [], outputs: [] })
    const s = await ort.InferenceSession.create(out)
    try {
      expect(s.inputMetadata.map((m) => [m.name, m.isTensor && m.type])).toEqual([
        ['x', 'float32'],
        ['count', 'int64'],
      ])
      expect(s.outputMetadata.map((m) => [m.name, m.isTensor && m.type])).toEqual([
        ['y', 'float32'],
        ['sq', 'float32'],
      ])
      const r = await s.run(feeds())
      const e = expected()
      expectClose(r.y, e.y)
      expectClose(r.sq, e.sq)
      // the weights really are float16: 1/3 rounds to 0.33325, off by 8e-5 * 0.125 in y[3]
      expect(Math.abs((r.y.data as Float32Array)[3] - (0.125 / 3 + 1))).toBeGreaterThan(5e-6)
    } finally {
      await s.release()
    }
  })

  it('leaves float32 models alone (same bytes, no copy)', () => {
    const m = onnx.ModelProto.encode({
      irVersion: 8,
      opsetImport: [{ domain: '', version: 17 }],
      graph: {
        node: [{ opType: 'Relu', input: ['a'], output: ['b'] }],
        input: [vi('a', F32, [2])],
        output: [vi('b', F32, [2])],
      },
    }).finish()
    expect(toFloat32IO(m)).toBe(m)
  })

  it('keeps external weights working when the session is created from the rewritten buffer', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'f32io-'))
    const bytes = halfModel(dir)
    writeFileSync(join(dir, 'model.onnx'), bytes)
    expect(float16IOOfFile(join(dir, 'model.onnx'))).toEqual(float16IO(bytes))
    const s = await ort.InferenceSession.create(
      toFloat32IO(readFileSync(join(dir, 'model.onnx'))),
      sessionOptions({ externalDataDir: dir }),
    )
    try {
      const r = await s.run(feeds())
      expectClose(r.y, expected().y)
    } finally {
      await s.release()
    }
  })

  it('handles a model patched by concatenation (several graph fields), as the attention hook does', async () => {
    const patched = appendToGraph(
      halfModel(),
      [{ opType: 'Neg', input: ['y'], output: ['negy'], name: 'neg' }],
      [vi('negy', F16, [4])],
    )
    expect(float16IO(patched).outputs).toEqual(['y', 'sq', 'negy'])
    const s = await ort.InferenceSession.create(toFloat32IO(patched))
    try {
      const r = await s.run(feeds())
      expectClose(
        r.negy,
        expected().y.map((v) => -v),
      )
      expectClose(r.sq, expected().sq)
    } finally {
      await s.release()
    }
  })

  it('reads the float16 boundary of a file without loading its weights, and refuses non-models', () => {
    const dir = mkdtempSync(join(tmpdir(), 'f32io-'))
    writeFileSync(join(dir, 'model.onnx'), halfModel())
    expect(float16IOOfFile(join(dir, 'model.onnx'))).toEqual({ inputs: ['x'], outputs: ['y', 'sq'] })
    writeFileSync(join(dir, 'bad.onnx'), Buffer.from([0x3a, 0x7f, 1, 2]))
    expect(() => float16IOOfFile(join(dir, 'bad.onnx'))).toThrow(/truncated/)
    expect(() => toFloat32IO(Buffer.from([0x08, 0x01]))).toThrow(/no graph/)
  })
})
