/**
 * Attention control on the bundled U-Net (models/daam-shapes): the `control` patch adds a per-token
 * scale for the cross-attention probabilities. All ones must give the plain U-Net's output; a zero
 * scale on content tokens must change it; and the taps keep reporting the softmax itself.
 */
import * as fs from 'node:fs'
import * as path from 'node:path'
import * as ort from 'onnxruntime-node'
import { describe, expect, it } from 'vitest'
import { patchUnet, TOKEN_SCALE_INPUT } from '../../src/main/attention/patch-unet'
import { sessionOptions } from '../../src/main/engine/session-options'
import { gaussianNoise } from '../../src/shared/noise'
import { toFloat32IO } from '../../src/main/engine/float32-io'
import { BUNDLED } from './bundled-model'
import { buildSyntheticUnet, randn } from './synthetic-unet'
import { maxAbsDiff } from '../helpers/max-abs-diff'

const unetPath = path.join(BUNDLED, 'unet', 'model.onnx')

describe('attention control patch on the bundled U-Net', async () => {
  const bytes = fs.readFileSync(unetPath)
  const patch = patchUnet(bytes, { control: true })
  const opts = sessionOptions({ threads: 2, externalDataDir: path.dirname(unetPath) })
  const plain = await ort.InferenceSession.create(unetPath, opts)
  const controlled = await ort.InferenceSession.create(patch.model, opts)
  const meta = Object.fromEntries(plain.inputMetadata.map((m) => [m.name, m]))
  const ehs = meta.encoder_hidden_states
  const D = ehs?.isTensor && typeof ehs.shape[2] === 'number' ? ehs.shape[2] : 768
  const tMeta = meta.timestep
  const B = 2
  const T = 77
  const s = ehs?.isTensor && typeof ehs.shape[1] === 'number' ? ehs.shape[1] : T
  expect(s).toBe(T)
  const sample = meta.sample
  const lat = sample?.isTensor && typeof sample.shape[2] === 'number' ? sample.shape[2] : 16
  const feeds: Record<string, ort.Tensor> = {
    sample: new ort.Tensor('float32', gaussianNoise(3, B * 4 * lat * lat), [B, 4, lat, lat]),
    timestep:
      tMeta?.isTensor && tMeta.type === 'int64'
        ? new ort.Tensor('int64', BigInt64Array.from([500n, 500n]), [B])
        : new ort.Tensor('float32', Float32Array.from([500, 500]), [B]),
    encoder_hidden_states: new ort.Tensor('float32', gaussianNoise(4, B * T * D), [B, T, D]),
  }
  const run = async (scale: Float32Array) => {
    const out = await controlled.run({ ...feeds, [TOKEN_SCALE_INPUT]: new ort.Tensor('float32', scale, [B, T]) })
    return out
  }
  const outName = plain.outputNames[0]

  it('adds the scale input and keeps every tap', () => {
    expect(patch.control).toBe(true)
    // every layer scales its value rows through the text embedding (one Mul), none the probabilities
    expect(patch.taps.map((t) => t.controlAt)).toEqual(patch.taps.map(() => 'values'))
    expect(patch.taps.length).toBeGreaterThan(0)
    expect(controlled.inputNames).toContain(TOKEN_SCALE_INPUT)
    expect(patchUnet(bytes).control).toBe(false)
  })

  it('with all ones equals the unpatched U-Net (max abs diff <= 1e-6)', async () => {
    const ref = (await plain.run(feeds))[outName].data as Float32Array
    const got = (await run(new Float32Array(B * T).fill(1)))[outName].data as Float32Array
    expect(maxAbsDiff(ref, got)).toBeLessThanOrEqual(1e-6)
  })

  it('scales only the batch row it is given, and the taps still show the softmax', async () => {
    const ones = await run(new Float32Array(B * T).fill(1))
    const scale = new Float32Array(B * T).fill(1)
    for (let k = 1; k < 10; k++) scale[T + k] = 0 // cond row: content tokens off
    const knocked = await run(scale)
    const n = (ones[outName].data as Float32Array).length / 2
    const o = ones[outName].data as Float32Array
    const k = knocked[outName].data as Float32Array
    // uncond half (row 0) untouched, cond half changed
    expect(maxAbsDiff(o.subarray(0, n), k.subarray(0, n))).toBeLessThanOrEqual(1e-6)
    expect(maxAbsDiff(o.subarray(n), k.subarray(n))).toBeGreaterThan(1e-3)
    // the first tapped layer reads the softmax before any scale has acted: identical
    const first = patch.taps[0].output
    expect(maxAbsDiff(ones[first].data as Float32Array, knocked[first].data as Float32Array)).toBe(0)
  })

  it('scaling the value rows, P·(s⊙V), equals scaling the probabilities, (P⊙s)·V', async () => {
    const byProbs = patchUnet(bytes, { control: true, controlAt: 'probs' })
    expect(byProbs.taps.every((t) => t.controlAt === 'probs')).toBe(true)
    const probs = await ort.InferenceSession.create(byProbs.model, opts)
    const scale = Float32Array.from({ length: B * T }, (_, i) => (i % 7 === 3 ? 0 : i % 5 === 1 ? 2.5 : 1))
    const feed = { ...feeds, [TOKEN_SCALE_INPUT]: new ort.Tensor('float32', scale, [B, T]) }
    const a = (await controlled.run(feed))[outName].data as Float32Array
    const b = (await probs.run(feed))[outName].data as Float32Array
    const ref = (await plain.run(feeds))[outName].data as Float32Array
    expect(maxAbsDiff(a, ref)).toBeGreaterThan(1e-3) // the scale does act
    expect(maxAbsDiff(a, b)).toBeLessThanOrEqual(1e-4)
  })
})

describe.each([
  ['3d', 13, false],
  ['4d', 17, false],
  ['4d', 18, false],
  ['3d', 17, true],
  ['4d', 18, true],
] as const)('attention control on a synthetic U-Net, %s layout, opset %i, float16 %s', (layout, opset, float16) => {
  const H = 4,
    W = 6,
    T = 5,
    D = 6,
    B = 2
  const bytes = toFloat32IO(buildSyntheticUnet({ layout, opset, heads: 2, float16 }))
  const patch = patchUnet(bytes, { control: true, negative: true })
  const feeds: Record<string, ort.Tensor> = {
    sample: new ort.Tensor('float32', randn(B * 4 * H * W, 1), [B, 4, H, W]),
    timestep: new ort.Tensor('int64', BigInt64Array.from([10n, 10n]), [B]),
    encoder_hidden_states: new ort.Tensor('float32', randn(B * T * D, 2), [B, T, D]),
  }
  it('all ones equal the plain graph; a zeroed token changes only its batch row', async () => {
    const plain = await ort.InferenceSession.create(bytes, sessionOptions({ threads: 1 }))
    const s = await ort.InferenceSession.create(patch.model, sessionOptions({ threads: 1 }))
    const name = plain.outputNames[0]
    const ref = (await plain.run(feeds))[name].data as Float32Array
    const scale = new Float32Array(B * T).fill(1)
    const ones = await s.run({ ...feeds, [TOKEN_SCALE_INPUT]: new ort.Tensor('float32', scale, [B, T]) })
    expect(maxAbsDiff(ref, ones[name].data as Float32Array)).toBeLessThanOrEqual(float16 ? 4e-3 : 1e-6) // float16: ORT may fuse ops differently, a few ulps
    scale[T + 1] = 0
    scale[T + 2] = 2
    const edited = await s.run({ ...feeds, [TOKEN_SCALE_INPUT]: new ort.Tensor('float32', scale, [B, T]) })
    const out = edited[name].data as Float32Array
    const n = out.length / 2
    expect(maxAbsDiff(ref.subarray(0, n), out.subarray(0, n))).toBeLessThanOrEqual(float16 ? 4e-3 : 1e-6)
    expect(maxAbsDiff(ref.subarray(n), out.subarray(n))).toBeGreaterThan(1e-4)
    // taps: identical in the first layer (the scale acts after it)
    const first = patch.taps[0].output
    expect(maxAbsDiff(ones[first].data as Float32Array, edited[first].data as Float32Array)).toBe(0)
    // the value rows are scaled (through the text input, or its Cast in float16), and that equals
    // scaling the probabilities
    expect(patch.taps.every((t) => t.controlAt === 'values')).toBe(true)
    const byProbs = await ort.InferenceSession.create(
      patchUnet(bytes, { control: true, negative: true, controlAt: 'probs' }).model,
      sessionOptions({ threads: 1 }),
    )
    const viaProbs = await byProbs.run({ ...feeds, [TOKEN_SCALE_INPUT]: new ort.Tensor('float32', scale, [B, T]) })
    expect(maxAbsDiff(out, viaProbs[name].data as Float32Array)).toBeLessThanOrEqual(float16 ? 4e-3 : 1e-5)
  })
})
