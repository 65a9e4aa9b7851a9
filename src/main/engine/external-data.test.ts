/**
 * ORT never uses the user's external-data file in place: with a private copy (large weights) or
 * the bytes in memory (small ones, or no room for a copy), rewriting the user's file after the
 * session exists changes nothing. (Truncation, which used to kill the process, is exercised in a
 * child process by test/engine/weights-file.test.ts.)
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import * as ort from 'onnxruntime-node'
import { onnx } from 'onnx-proto'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { externalDataLocations, INLINE_WEIGHTS_FILE, inlineWeightBytes, prepareExternalData } from './external-data'
import { sessionOptions } from './session-options'

const N = 1 << 20 // 4 MB of float32: large enough for ORT to map it
const FLOAT = onnx.TensorProto.DataType.FLOAT

/** y = x + w, w external in `location` (page-aligned at offset 0). */
function addModel(location: string): Uint8Array {
  const vi = (name: string) => ({ name, type: { tensorType: { elemType: FLOAT, shape: { dim: [{ dimValue: N }] } } } })
  return onnx.ModelProto.encode({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }],
    graph: {
      name: 'add',
      node: [{ opType: 'Add', input: ['x', 'w'], output: ['y'] }],
      initializer: [
        {
          name: 'w',
          dims: [N],
          dataType: FLOAT,
          dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
          externalData: [
            { key: 'location', value: location },
            { key: 'offset', value: '0' },
            { key: 'length', value: String(N * 4) },
          ],
        },
      ],
      input: [vi('x')],
      output: [vi('y')],
    },
  }).finish()
}

let dir: string
let temp: string
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'daam-extdata-'))
  temp = mkdtempSync(join(tmpdir(), 'daam-extdata-tmp-'))
})
afterEach(() => {
  rmSync(dir, { recursive: true, force: true })
  rmSync(temp, { recursive: true, force: true })
})

async function sessionThenRewrite(mode: 'copy' | 'memory' | 'in-place', tempRoot: string): Promise<number[]> {
  const model = addModel('weights/w.bin')
  const file = join(dir, 'weights', 'w.bin')
  writeFileSync(join(dir, 'marker'), '') // a folder with more than the model in it
  mkdirSync(join(dir, 'weights'))
  writeFileSync(file, Buffer.from(new Float32Array(N).fill(2).buffer))
  const ext =
    mode === 'in-place'
      ? { folder: dir, externalData: [], done: () => {} }
      : prepareExternalData(model, dir, { mode, tempRoot })
  let session: ort.InferenceSession
  try {
    const extra = { session: { model_external_initializers_file_folder_path: ext.folder } }
    session = await ort.InferenceSession.create(model, {
      extra,
      ...(ext.externalData.length ? { externalData: ext.externalData } : {}),
    })
  } finally {
    ext.done()
  }
  const x = new ort.Tensor('float32', new Float32Array(N).fill(1), [N])
  const before = (await session.run({ x })).y.data as Float32Array
  writeFileSync(file, Buffer.alloc(N * 4)) // the user's file rewritten in place: zeros
  const after = (await session.run({ x })).y.data as Float32Array
  await session.release()
  return [before[0], before[N - 1], after[0], after[N - 1]]
}

describe('external data', () => {
  it('finds the files the initializers name', () => {
    expect(externalDataLocations(addModel('model.onnx_data'))).toEqual(['model.onnx_data'])
  })

  it('control: left to itself ORT uses the user’s file in place (what went wrong before)', async () => {
    expect(await sessionThenRewrite('in-place', temp)).toEqual([3, 3, 1, 1])
  })

  it('copy mode: ORT maps a private copy, removed once the session exists', async () => {
    expect(await sessionThenRewrite('copy', temp)).toEqual([3, 3, 3, 3])
    expect(readdirSync(temp)).toEqual([]) // the copy is gone (the mapping keeps its data)
  })

  it('memory mode: the bytes are handed over, nothing left on disk', async () => {
    expect(await sessionThenRewrite('memory', temp)).toEqual([3, 3, 3, 3])
    expect(readdirSync(temp)).toEqual([])
  })

  it('falls back to memory when no copy can be written', () => {
    writeFileSync(join(dir, 'w.bin'), Buffer.alloc(N * 4, 7))
    // every size counts as large here, and the temporary folder cannot be created
    const ext = prepareExternalData(addModel('w.bin'), dir, { memoryMaxBytes: 0, tempRoot: join(temp, 'no', 'such') })
    expect(ext.folder).toBe(dir)
    expect(ext.externalData.map((e) => [e.path, e.data.length, e.data[0]])).toEqual([['w.bin', N * 4, 7]])
    ext.done()
    expect(ext.externalData).toEqual([]) // the read copy is let go
  })

  it('a model without external data needs nothing', () => {
    const ext = prepareExternalData(onnx.ModelProto.encode({ irVersion: 8, graph: { name: 'g' } }).finish(), dir)
    expect(ext).toMatchObject({ folder: dir, externalData: [] })
  })

  it('refuses files outside the model folder', () => {
    expect(() => prepareExternalData(addModel('../secret.bin'), dir)).toThrow(/lies outside the model's folder/)
    expect(() => prepareExternalData(addModel('/etc/passwd'), dir)).toThrow(/lies outside the model's folder/)
  })

  it('writes the inline weights of a model given as bytes to the private folder, for ORT to map', async () => {
    const unetDir = resolve(__dirname, '../../../models/daam-shapes/unet')
    const bytes = readFileSync(join(unetDir, 'model.onnx'))
    const inline = inlineWeightBytes(bytes)
    expect(inline).toBeGreaterThan(5e6) // the bundled U-Net keeps its 6 MB of weights inside
    // below the threshold nothing changes
    expect(prepareExternalData(bytes, unetDir, { tempRoot: temp }).model).toBe(bytes)
    const ext = prepareExternalData(bytes, unetDir, { tempRoot: temp, inlineMinBytes: 1 })
    let lean: ort.InferenceSession
    try {
      expect(ext.folder.startsWith(temp)).toBe(true)
      expect(ext.externalData).toEqual([])
      expect(ext.model.byteLength).toBeLessThan(bytes.byteLength - 0.9 * inline)
      expect(inlineWeightBytes(ext.model)).toBeLessThan(0.05 * inline) // only small constants stay
      expect(statSync(join(ext.folder, INLINE_WEIGHTS_FILE)).size).toBeGreaterThanOrEqual(0.95 * inline)
      lean = await ort.InferenceSession.create(ext.model, sessionOptions({ externalDataDir: ext.folder }))
    } finally {
      ext.done()
    }
    expect(readdirSync(temp)).toEqual([]) // the file is gone; ORT's mapping keeps it
    const full = await ort.InferenceSession.create(bytes, sessionOptions())
    const rnd = (n: number, seed: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898 + seed))
    const feeds = {
      sample: new ort.Tensor('float32', rnd(2 * 4 * 16 * 16, 1), [2, 4, 16, 16]),
      timestep: new ort.Tensor('int64', BigInt64Array.from([999n, 1n]), [2]),
      encoder_hidden_states: new ort.Tensor('float32', rnd(2 * 77 * 64, 2), [2, 77, 64]),
    }
    const a = (await full.run(feeds)).out_sample.data as Float32Array
    const b = (await lean.run(feeds)).out_sample.data as Float32Array
    expect(Array.from(b)).toEqual(Array.from(a)) // the same weights, bit for bit
    await Promise.all([full.release(), lean.release()])
  })
})
