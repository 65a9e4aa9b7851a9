/**
 * The session options every session gets: the memory settings follow the model's size on disk
 * (arena and memory pattern off from LARGE_MODEL_BYTES, measured with bench/sd15-scale.ts), and
 * the size is read from the model folder the way LoadedModel.load reads it.
 */
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { modelWeightBytes } from './memory-estimate'
import { inspectModelFolder } from './model-folder'
import { LARGE_MODEL_BYTES, memoryPolicy, sessionOptions } from './session-options'

const bundled = inspectModelFolder(resolve(__dirname, '../../../models/daam-shapes'))
const temp = mkdtempSync(join(tmpdir(), 'daam-session-options-'))
afterAll(() => rmSync(temp, { recursive: true, force: true }))

describe('session options', () => {
  it('turns the CPU arena, the memory pattern and the layout transforms off for large models only', () => {
    expect(memoryPolicy(undefined)).toEqual({ arena: true, pattern: true, level: 'all' })
    expect(memoryPolicy(LARGE_MODEL_BYTES - 1)).toEqual({ arena: true, pattern: true, level: 'all' })
    expect(memoryPolicy(LARGE_MODEL_BYTES)).toEqual({ arena: false, pattern: false, level: 'extended' })
    const sd15 = sessionOptions({ weightBytes: 3.9e9, threads: 2 })
    expect(sd15.enableCpuMemArena).toBe(false)
    expect(sd15.enableMemPattern).toBe(false)
    expect(sd15.intraOpNumThreads).toBe(2)
    const small = sessionOptions({ weightBytes: modelWeightBytes(bundled) })
    expect(small.enableCpuMemArena).toBe(true)
    expect(small.enableMemPattern).toBe(true)
    // no layout transforms (NCHWc) for the large model: they copy every convolution weight
    expect(sd15.graphOptimizationLevel).toBe('extended')
    expect(small.graphOptimizationLevel).toBe('all')
    // the same otherwise: no spinning
    for (const o of [sd15, small]) expect(o.extra).toEqual({ session: { intra_op: { allow_spinning: '0' } } })
  })

  it("measures a model's weights as its three components' files, configs left out", () => {
    // the bundled model: three single-file graphs (the VAE encoder does not count)
    const b = modelWeightBytes(bundled)
    expect(b).toBeGreaterThan(1e6)
    expect(b).toBeLessThan(LARGE_MODEL_BYTES)
    // external data counts, whatever its name; JSON does not
    const dirs = ['text_encoder', 'unet', 'vae_decoder'].map((c) => join(temp, c))
    for (const d of dirs) mkdirSync(d, { recursive: true })
    writeFileSync(join(dirs[0], 'model.onnx'), new Uint8Array(10))
    writeFileSync(join(dirs[1], 'model.onnx'), new Uint8Array(20))
    writeFileSync(join(dirs[1], 'model.onnx_data'), new Uint8Array(300))
    writeFileSync(join(dirs[1], 'config.json'), '{"block_out_channels": [320]}')
    writeFileSync(join(dirs[2], 'model.onnx'), new Uint8Array(4000))
    const folder = {
      textEncoderPath: join(dirs[0], 'model.onnx'),
      unetPath: join(dirs[1], 'model.onnx'),
      vaeDecoderPath: join(dirs[2], 'model.onnx'),
    }
    expect(modelWeightBytes(folder)).toBe(10 + 20 + 300 + 4000)
    // SDXL: the second text encoder counts too
    const second = join(temp, 'text_encoder_2')
    mkdirSync(second)
    writeFileSync(join(second, 'model.onnx'), new Uint8Array(50000))
    expect(modelWeightBytes({ ...folder, textEncoder2Path: join(second, 'model.onnx') })).toBe(
      10 + 20 + 300 + 4000 + 50000,
    )
  })
})
