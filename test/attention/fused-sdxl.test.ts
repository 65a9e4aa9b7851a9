/**
 * Heat maps from fused attention on SDXL: the tiny SDXL U-Net (test/fixtures/sdxl-tiny) run through
 * ONNX Runtime 1.21's transformer optimizer with the CPU options (scripts/sdxl-fused-fixture.sh ->
 * test/fixtures/fused/sdxl-tiny-unet.cpu.onnx: 28 `Attention` for self-attention, 28
 * `MultiHeadAttention` with separate Q/K/V for cross-attention). The hook's side branches must
 * find all 28 cross-attention layers, recompute maps equal to the unfused U-Net's taps (1e-4), and
 * leave the fused model's output alone.
 */
import { afterAll, describe, expect, it } from 'vitest'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import * as ort from 'onnxruntime-node'
import { patchUnet } from '../../src/main/attention/patch-unet'
import { loadTracedModel, traceGeneration } from '../../src/main/attention/trace'
import { sessionOptions } from '../../src/main/engine/session-options'
import { npyToFloat32, readNpy } from '../../src/shared/npy'
import { maxAbsDiff, tapsMaxAbsDiff } from '../helpers/max-abs-diff'

const SDXL_TINY = path.resolve(__dirname, '../fixtures/sdxl-tiny')
const FUSED = path.resolve(__dirname, '../fixtures/fused/sdxl-tiny-unet.cpu.onnx')
const npy = (name: string) => npyToFloat32(readNpy(fs.readFileSync(path.join(SDXL_TINY, 'reference', `${name}.npy`))))

const tmp: string[] = []
afterAll(() => tmp.forEach((d) => fs.rmSync(d, { recursive: true, force: true })))

describe('fused attention (ORT optimizer, CPU options) on the SDXL U-Net', () => {
  it('recomputes all 28 cross-attention maps equal to the unfused taps; the output is the fused model’s own', async () => {
    const fusedBytes = fs.readFileSync(FUSED)
    const fused = patchUnet(fusedBytes, { negative: true })
    const plain = patchUnet(fs.readFileSync(path.join(SDXL_TINY, 'unet', 'model.onnx')), { negative: true })
    expect(fused.warning).toBeUndefined()
    expect(fused.taps).toHaveLength(28)
    expect(fused.taps.every((t) => t.recomputed && /^MultiHeadAttention/.test(t.softmax))).toBe(true)
    expect(fused.taps.map((t) => [t.name, t.block, t.blockIndex])).toEqual(
      plain.taps.map((t) => [t.name, t.block, t.blockIndex]),
    )
    const feeds: Record<string, ort.Tensor> = {
      sample: new ort.Tensor('float32', npy('sample'), [2, 4, 16, 16]),
      timestep: new ort.Tensor('int64', BigInt64Array.of(500n, 500n), [2]),
      encoder_hidden_states: new ort.Tensor('float32', npy('encoder_hidden_states'), [2, 77, 80]),
      text_embeds: new ort.Tensor('float32', npy('text_embeds'), [2, 32]),
      time_ids: new ort.Tensor('float32', npy('time_ids'), [2, 6]),
    }
    const sessions = await Promise.all(
      [fused.model, plain.model, fusedBytes].map((m) => ort.InferenceSession.create(m, sessionOptions({ threads: 2 }))),
    )
    try {
      const [f, p, raw] = await Promise.all(sessions.map((s) => s.run(feeds)))
      const worst = tapsMaxAbsDiff(fused.taps, f, plain.taps, p)
      console.log(`SDXL fused vs unfused maps: max |diff| ${worst.toExponential(2)} over 28 layers`)
      expect(worst).toBeLessThanOrEqual(1e-4)
      expect(maxAbsDiff(f.out_sample.data as Float32Array, raw.out_sample.data as Float32Array)).toBe(0)
      // and the fused U-Net still computes what PyTorch does
      expect(maxAbsDiff(f.out_sample.data as Float32Array, npy('out_sample'))).toBeLessThan(1e-4)
    } finally {
      await Promise.all(sessions.map((s) => s.release()))
    }
  })

  it('an SDXL folder with the fused U-Net generates the fused model’s own image, with maps of all 28 layers', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'daam-sdxl-fused-'))
    tmp.push(dir)
    fs.cpSync(SDXL_TINY, dir, { recursive: true })
    fs.copyFileSync(FUSED, path.join(dir, 'unet', 'model.onnx'))
    const input = { prompt: 'a red circle', negativePrompt: 'blue square', seed: 3, steps: 3, guidance: 5 }
    const traced = await loadTracedModel(dir, { negative: true, threads: 2 })
    const bare = await loadTracedModel(dir, { attention: false, threads: 2 })
    try {
      const g = await traceGeneration(traced, input)
      const b = await traceGeneration(bare, input)
      expect(Buffer.compare(Buffer.from(g.rgb), Buffer.from(b.rgb))).toBe(0)
      expect(g.record!.layers).toHaveLength(28)
      expect(g.record!.uncond!.tokens).toBe(4) // BOS, blue, square, EOS
    } finally {
      await Promise.all([traced, bare].map((m) => m.model.release()))
    }
  })
})
