/**
 * Heat maps from fused attention on the bundled U-Net run through ONNX Runtime's own transformer
 * optimizer (fixtures written by scripts/fused-fixtures.sh into test/fixtures/fused/): the CPU
 * layout (Attention for self-attention, MultiHeadAttention with separate Q/K/V and a bias for
 * cross-attention) gets its probabilities recomputed by the hook's side branch, equal to the
 * unfused model's taps; the GPU layout (packed KV, NhwcConv, GroupNorm) is found by structure too,
 * but its session cannot load on the CPU provider and says so plainly.
 */
import { afterAll, describe, expect, it } from 'vitest'
import { spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import * as ort from 'onnxruntime-node'
import { patchUnet } from '../../src/main/attention/patch-unet'
import { loadTracedModel, traceGeneration } from '../../src/main/attention/trace'
import { LoadedModel } from '../../src/main/engine/model'
import { sessionOptions } from '../../src/main/engine/session-options'
import { fromHalf } from '../../src/shared/float16'
import { randn } from './synthetic-unet'
import { BUNDLED } from './bundled-model'
import { ModelManager } from '../../src/main/service/models'
import { maxAbsDiff, tapsMaxAbsDiff } from '../helpers/max-abs-diff'

const FIXTURES = path.resolve(__dirname, '../fixtures/fused')
const fixture = (kind: 'cpu' | 'packed' | 'gpu') =>
  fs.readFileSync(path.join(FIXTURES, `daam-shapes-unet.${kind}.onnx`))
const tmp: string[] = []
afterAll(() => tmp.forEach((d) => fs.rmSync(d, { recursive: true, force: true })))

/** A copy of the bundled model folder with its U-Net replaced by `unet`. */
function folderWith(unet: Uint8Array): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'daam-fused-'))
  tmp.push(dir)
  fs.cpSync(BUNDLED, dir, { recursive: true })
  fs.writeFileSync(path.join(dir, 'unet', 'model.onnx'), unet)
  return dir
}

const options = () => sessionOptions({ threads: 2 })

describe('fused attention (ORT optimizer, CPU options) on the bundled U-Net', () => {
  const fused = patchUnet(fixture('cpu'), { negative: true })
  const plain = patchUnet(fs.readFileSync(path.join(BUNDLED, 'unet', 'model.onnx')), { negative: true })

  it('finds every cross-attention by structure and names it like the unfused taps', () => {
    expect(fused.warning).toBeUndefined()
    expect(fused.taps.map((t) => [t.name, t.block, t.blockIndex])).toEqual(
      plain.taps.map((t) => [t.name, t.block, t.blockIndex]),
    )
    expect(fused.taps.every((t) => t.recomputed && /^MultiHeadAttention/.test(t.softmax))).toBe(true)
  })

  it('recomputed maps equal the unfused taps to 1e-4, and the side branch leaves the output alone', async () => {
    const B = 2
    const feeds: Record<string, ort.Tensor> = {
      sample: new ort.Tensor('float32', randn(B * 4 * 16 * 16, 7), [B, 4, 16, 16]),
      timestep: new ort.Tensor('float32', Float32Array.of(500, 500), [B]),
      encoder_hidden_states: new ort.Tensor('float32', randn(B * 77 * 64, 8), [B, 77, 64]),
    }
    const sessions = await Promise.all(
      [fused.model, plain.model, fixture('cpu')].map((m) => ort.InferenceSession.create(m, options())),
    )
    // the bundled U-Net's timestep input type decides the feed
    const t = sessions[1].inputMetadata.find((m) => m.name === 'timestep')
    if (t && 'type' in t && t.type === 'int64') feeds.timestep = new ort.Tensor('int64', [500n, 500n], [B])
    const [f, p, raw] = await Promise.all(sessions.map((s) => s.run(feeds)))
    const worst = tapsMaxAbsDiff(fused.taps, f, plain.taps, p)
    expect(worst).toBeLessThanOrEqual(1e-4)
    expect(maxAbsDiff(f.out_sample.data as Float32Array, raw.out_sample.data as Float32Array)).toBe(0)
    await Promise.all(sessions.map((s) => s.release()))
  })

  it('generates the same image as the unpatched fused model, with maps close to the unfused ones', async () => {
    const dir = folderWith(fixture('cpu'))
    const input = { prompt: 'a red circle', negativePrompt: 'blue', seed: 3, steps: 3, guidance: 5 }
    const traced = await loadTracedModel(dir, { negative: true, threads: 2 })
    const bare = await loadTracedModel(dir, { attention: false, threads: 2 })
    const unfused = await loadTracedModel(BUNDLED, { negative: true, threads: 2 })
    const g = await traceGeneration(traced, input)
    const b = await traceGeneration(bare, input)
    const u = await traceGeneration(unfused, input)
    expect(Buffer.compare(Buffer.from(g.rgb), Buffer.from(b.rgb))).toBe(0)
    expect(g.record).not.toBeNull()
    expect(g.record!.layers.map((l) => l.name)).toEqual(u.record!.layers.map((l) => l.name))
    // The fused kernel rounds differently from the unfused graph, so the latents drift by float
    // noise over the steps; the stored (float16) maps agree to well under a visible difference.
    let worst = 0
    g.record!.cond.data.forEach(
      (d, i) => (worst = Math.max(worst, maxAbsDiff(fromHalfs(d), fromHalfs(u.record!.cond.data[i])))),
    )
    g.record!.uncond!.data.forEach(
      (d, i) => (worst = Math.max(worst, maxAbsDiff(fromHalfs(d), fromHalfs(u.record!.uncond!.data[i])))),
    )
    expect(worst).toBeLessThan(2e-3)
    await Promise.all([traced, bare, unfused].map((m) => m.model.release()))
  })
})

describe('packed-KV U-Net (GPU attention layout without the GPU-only ops)', () => {
  it('is tapped, loads on CPU, and its first U-Net call fails with the plain message', async () => {
    expect(patchUnet(fixture('packed')).taps).toHaveLength(7)
    const traced = await loadTracedModel(folderWith(fixture('packed')), { threads: 2 })
    await expect(traceGeneration(traced, { prompt: 'a red circle', steps: 2, seed: 1 })).rejects.toThrow(
      /optimised for GPU: needs the CUDA\/DirectML provider.*MultiHeadAttention with packed Q\/K\/V/,
    )
    await traced.model.release()
  })
})

describe('model summary of a fused model', () => {
  it('says the heat maps are recomputed from fused attention', async () => {
    const manager = new ModelManager({ bundledDir: BUNDLED, threads: 2 })
    const { summary } = await manager.load(folderWith(fixture('cpu')))
    expect(summary.attentionWarning).toBeUndefined()
    expect(summary.layers).toHaveLength(7)
    expect(summary.recomputedAttention).toBe(true)
    // the manager's engine releases the fused model when it loads the next one
    const bundled = await manager.load(BUNDLED)
    expect(bundled.summary.recomputedAttention).toBeUndefined()
    await bundled.model.release()
  })
})

function fromHalfs(d: Uint16Array): Float32Array {
  return Float32Array.from(d, (h) => fromHalf(h))
}

describe('GPU-optimised U-Net (ORT optimizer defaults)', () => {
  it('is found by structure (packed KV) but refused on the CPU provider with a plain message', async () => {
    const patch = patchUnet(fixture('gpu'))
    expect(patch.taps).toHaveLength(7)
    const dir = folderWith(fixture('gpu'))
    await expect(LoadedModel.load(dir, { threads: 2 })).rejects.toThrow(
      /optimised for GPU: needs the CUDA\/DirectML provider/,
    )
  })
})

describe('CLI on fused models', () => {
  const cli = (args: string[]) =>
    spawnSync(process.execPath, ['--import', 'tsx', path.resolve(__dirname, '../../scripts/generate.ts'), ...args], {
      cwd: path.resolve(__dirname, '../..'),
      encoding: 'utf8',
      timeout: 120_000,
    })

  it('--heatmaps works on the CPU-optimised export; the GPU-optimised one gets the plain message', () => {
    const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'daam-fused-cli-')), 'out')
    tmp.push(path.dirname(out))
    const args = ['--prompt', 'a red circle', '--steps', '3', '--seed', '5', '--out', out, '--model']
    const ok = cli([...args, folderWith(fixture('cpu')), '--heatmaps', 'red,circle'])
    expect(ok.stderr).not.toMatch(/error|note/)
    expect(ok.status).toBe(0)
    const meta = JSON.parse(fs.readFileSync(path.join(out, 'meta.json'), 'utf8'))
    expect(meta.heatmaps.words.map((w: { word: string }) => w.word)).toEqual(['red', 'circle'])
    expect(fs.existsSync(path.join(out, 'red.overlay.png'))).toBe(true)
    const gpu = cli([...args, folderWith(fixture('gpu')), '--heatmaps', 'red'])
    expect(gpu.status).not.toBe(0)
    expect(gpu.stderr).toMatch(/optimised for GPU: needs the CUDA\/DirectML provider/)
  })
})
