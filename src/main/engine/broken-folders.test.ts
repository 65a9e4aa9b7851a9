/**
 * Broken model folders: each defect is caught before anything runs, with its own code and a
 * message that names the file concerned.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { LoadedModel, ModelFolderError, type ModelFolderErrorCode } from './index'
import { writeTinyModel } from '../../../test/engine/tiny-model'

interface BrokenCase {
  name: string
  make: () => string
  code: ModelFolderErrorCode
  /** Path (relative to the folder, or absolute) that the message must name. */
  path: (dir: string) => string
  message: RegExp
}

const cases: BrokenCase[] = [
  {
    name: 'folder does not exist',
    make: () => join(tmpdir(), 'no-such-model-folder-xyz'),
    code: 'folder-missing',
    path: (d) => d,
    message: /model folder not found/,
  },
  {
    name: 'path is a file',
    make: () => {
      const f = join(mkdtempSync(join(tmpdir(), 'file-')), 'model.onnx')
      writeFileSync(f, 'x')
      return f
    },
    code: 'not-a-folder',
    path: (d) => d,
    message: /model path is not a folder/,
  },
  {
    name: 'model_index.json missing',
    make: () => {
      const d = writeTinyModel()
      rmSync(join(d, 'model_index.json'))
      return d
    },
    code: 'model-index-missing',
    path: (d) => join(d, 'model_index.json'),
    message: /not a diffusers model folder/,
  },
  {
    name: 'model_index.json is not JSON',
    make: () => {
      const d = writeTinyModel()
      writeFileSync(join(d, 'model_index.json'), '{ "_class_name": ')
      return d
    },
    code: 'model-index-invalid',
    path: (d) => join(d, 'model_index.json'),
    message: /is not valid JSON/,
  },
  {
    name: 'unet/model.onnx missing',
    make: () => {
      const d = writeTinyModel()
      rmSync(join(d, 'unet', 'model.onnx'))
      return d
    },
    code: 'component-missing',
    path: (d) => join(d, 'unet', 'model.onnx'),
    message: /missing the U-Net/,
  },
  {
    name: 'vae_decoder/model.onnx missing',
    make: () => {
      const d = writeTinyModel()
      rmSync(join(d, 'vae_decoder', 'model.onnx'))
      return d
    },
    code: 'component-missing',
    path: (d) => join(d, 'vae_decoder', 'model.onnx'),
    message: /missing the VAE decoder/,
  },
  {
    name: 'corrupt U-Net ONNX',
    make: () => {
      const d = writeTinyModel()
      writeFileSync(join(d, 'unet', 'model.onnx'), Buffer.from('this is not a protobuf model at all'))
      return d
    },
    code: 'onnx-unreadable',
    path: (d) => join(d, 'unet', 'model.onnx'),
    message: /cannot load ONNX model .* \(corrupt, truncated or unsupported\)/,
  },
  {
    name: 'truncated text encoder ONNX',
    make: () => {
      const d = writeTinyModel()
      const p = join(d, 'text_encoder', 'model.onnx')
      const b = readFileSync(p)
      writeFileSync(p, b.subarray(0, Math.floor(b.length / 2)))
      return d
    },
    code: 'onnx-unreadable',
    path: (d) => join(d, 'text_encoder', 'model.onnx'),
    message: /cannot load ONNX model/,
  },
  {
    name: 'U-Net external data file missing',
    make: () => {
      const d = writeTinyModel({ externalData: true })
      rmSync(join(d, 'unet', 'weights.pb'))
      return d
    },
    code: 'onnx-unreadable',
    path: (d) => join(d, 'unet', 'model.onnx'),
    message: /cannot load ONNX model/,
  },
  {
    name: 'wrong U-Net input names',
    make: () => writeTinyModel({ unetInputNames: ['sample', 'timestep', 'text_embeds'] }),
    code: 'unet-inputs',
    path: (d) => join(d, 'unet', 'model.onnx'),
    message: /lacks input\(s\) encoder_hidden_states; it has sample, timestep, text_embeds/,
  },
  {
    name: 'wrong latent channels (inpainting-style 9-channel U-Net)',
    make: () => writeTinyModel({ unetChannels: 9 }),
    code: 'latent-channels',
    path: (d) => join(d, 'unet', 'model.onnx'),
    message: /takes 9-channel latents but the VAE decoder decodes 4 channels \(an inpainting U-Net/,
  },
  {
    name: 'tokenizer missing',
    make: () => {
      const d = writeTinyModel()
      rmSync(join(d, 'tokenizer'), { recursive: true })
      return d
    },
    code: 'tokenizer-missing',
    path: (d) => join(d, 'tokenizer'),
    message: /tokenizer missing: .* needs vocab\.json \+ merges\.txt or tokenizer\.json/,
  },
  {
    name: 'tokenizer without its end-of-text token',
    make: () => {
      const d = writeTinyModel()
      const p = join(d, 'tokenizer', 'vocab.json')
      const v = JSON.parse(readFileSync(p, 'utf8')) as Record<string, number>
      delete v['<|endoftext|>']
      writeFileSync(p, JSON.stringify(v))
      return d
    },
    code: 'tokenizer-missing',
    path: (d) => join(d, 'tokenizer'),
    message: /bad tokenizer: .*eos_token '<\|endoftext\|>' is not in the vocabulary/,
  },
  {
    name: 'bad scheduler config',
    make: () => {
      const d = writeTinyModel()
      writeFileSync(join(d, 'scheduler', 'scheduler_config.json'), JSON.stringify({ beta_schedule: 'cubic' }))
      return d
    },
    code: 'scheduler-config',
    path: (d) => join(d, 'scheduler', 'scheduler_config.json'),
    message: /bad scheduler config: .*invalid scheduler config at 'beta_schedule'/,
  },
  {
    name: 'scheduler config missing',
    make: () => {
      const d = writeTinyModel()
      rmSync(join(d, 'scheduler', 'scheduler_config.json'))
      return d
    },
    code: 'scheduler-config',
    path: (d) => join(d, 'scheduler', 'scheduler_config.json'),
    message: /scheduler config missing/,
  },
  {
    name: 'text encoder width differs from the U-Net cross-attention width',
    make: () => writeTinyModel({ textDim: 8, unetTextDim: 12 }),
    code: 'hidden-size-mismatch',
    path: (d) => join(d, 'text_encoder', 'model.onnx'),
    message: /produces 8-wide hidden states but the U-Net .* cross-attends over 12/,
  },
  {
    // The second text encoder's 1280 (here 8 + 8) widths made this a hidden-size mismatch before;
    // SDXL is supported now (test/engine/sdxl.test.ts), so what is wrong is the missing encoder.
    name: 'SDXL U-Net (inputs text_embeds and time_ids) without text_encoder_2',
    make: () => writeTinyModel({ textDim: 8, unetTextDim: 16, sdxlInputs: true }),
    code: 'component-missing',
    path: (d) => join(d, 'unet', 'model.onnx'),
    message:
      /is an SDXL U-Net \(inputs text_embeds, time_ids\).*needs the second text encoder: .* has no text_encoder_2/,
  },
  {
    name: 'invalid unet/config.json value',
    make: () => {
      const d = writeTinyModel()
      writeFileSync(join(d, 'unet', 'config.json'), JSON.stringify({ sample_size: 'big' }))
      return d
    },
    code: 'config-invalid',
    path: (d) => join(d, 'unet', 'config.json'),
    message: /'sample_size' must be a number or \[h, w\]/,
  },
]

describe('broken model folders', () => {
  // Messages with the folder path blanked out, per case: they must all differ.
  const messages = new Map<string, string>()
  for (const c of cases) {
    it(c.name, async () => {
      const dir = c.make()
      const err = await LoadedModel.load(dir).then(
        () => null,
        (e: unknown) => e,
      )
      expect(err).toBeInstanceOf(ModelFolderError)
      const e = err as ModelFolderError
      expect(e.code).toBe(c.code)
      expect(e.message).toMatch(c.message)
      const p = c.path(dir)
      expect(e.path).toBe(p)
      expect(e.message).toContain(p)
      messages.set(c.name, e.message.split(dir).join('<dir>'))
    })
  }

  it('the cases are told apart: every message differs, at least 8 distinct error codes', () => {
    expect(messages.size).toBe(cases.length)
    expect(new Set(messages.values()).size).toBe(cases.length)
    expect(new Set(cases.map((c) => c.code)).size).toBeGreaterThanOrEqual(8)
  })
})
