/**
 * The VAE decoder's scale factor (pixels per latent cell) when vae_decoder/config.json does not
 * say it: diffusers' own ONNX conversion script writes no config for the VAE, and an assumed 8
 * made a 2x-VAE export fail after all steps ("VAE output has 3072 values, expected 3 x 128 x
 * 128"). The factor is measured on the graph at load (model.ts), so sizes and generation are right.
 */
import { rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { onnx } from 'onnx-proto'
import { afterAll, describe, expect, it } from 'vitest'
import { writeTinyModel } from '../../../test/engine/tiny-model'
import { LoadedModel } from './model'
import { inspectModelFolder } from './model-folder'
import { runPipeline } from './pipeline'

const made: string[] = []
afterAll(() => made.forEach((d) => rmSync(d, { recursive: true, force: true })))

describe.each([2, 4, 8])('a %ix VAE without vae_decoder/config.json', (scale) => {
  it('gets its scale factor from the graph: default size, size multiple and a generated image', async () => {
    const dir = writeTinyModel({ vaeScale: scale, noVaeConfig: true })
    made.push(dir)
    expect(inspectModelFolder(dir).vaeScaleFactorKnown).toBe(false)
    const model = await LoadedModel.load(dir, { threads: 1 })
    try {
      // sample_size 8, two U-Net blocks (latents divide by 2)
      expect(model.folder.vaeScaleFactor).toBe(scale)
      expect(model.folder.defaultWidth).toBe(8 * scale)
      expect(model.folder.spatialMultiple).toBe(2 * scale)
      const g = await runPipeline(model, { prompt: 'red circle', steps: 2, seed: 1 })
      expect([g.width, g.height]).toEqual([8 * scale, 8 * scale])
      expect(g.rgb.length).toBe(3 * 8 * scale * 8 * scale)
    } finally {
      await model.release()
    }
  })
})

describe('a VAE whose config states block_out_channels', () => {
  it('takes the factor from the config without a probe', () => {
    const dir = writeTinyModel({ vaeScale: 2 })
    made.push(dir)
    const folder = inspectModelFolder(dir)
    expect(folder.vaeScaleFactorKnown).toBe(true)
    expect(folder.vaeScaleFactor).toBe(2)
  })
})

describe('a VAE decoder whose output is not an image', () => {
  it('is refused at load with the reason, before any generation', async () => {
    const dir = writeTinyModel({ noVaeConfig: true })
    made.push(dir)
    const F = onnx.TensorProto.DataType.FLOAT
    const vi = (name: string): onnx.IValueInfoProto => ({ name, type: { tensorType: { elemType: F } } })
    // returns the latent itself: 4 channels at the latent's size
    const identity = onnx.ModelProto.encode({
      irVersion: 8,
      opsetImport: [{ domain: '', version: 13 }],
      graph: {
        name: 'vae',
        node: [{ opType: 'Identity', input: ['latent_sample'], output: ['sample'] }],
        input: [vi('latent_sample')],
        output: [vi('sample')],
      },
    }).finish()
    writeFileSync(join(dir, 'vae_decoder', 'model.onnx'), identity)
    await expect(LoadedModel.load(dir, { threads: 1 })).rejects.toThrow(
      /does not state the VAE's scale factor, and the decoder turns a \[1, 4, 8, 8\] latent into \[1, 4, 8, 8\]/,
    )
  })
})
