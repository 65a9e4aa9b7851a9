/** planLayout on real repository listings (the bundled model's files) and the repo-spec parser. */
import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { parseRepoSpec } from '../../shared/ipc/library'
import { AppError } from '../../shared/ipc/result'
import type { HubFile } from './hub-client'
import { planLayout } from './layout'

const SHAPES = path.resolve(__dirname, '..', '..', '..', 'models', 'daam-shapes')
const files: HubFile[] = (fs.readdirSync(SHAPES, { recursive: true, withFileTypes: true }) as fs.Dirent[])
  .filter((e) => e.isFile())
  .map((e) => {
    const p = path.relative(SHAPES, path.join(e.parentPath, e.name)).split(path.sep).join('/')
    return { path: p, size: fs.statSync(path.join(SHAPES, p)).size }
  })

function refusal(run: () => unknown): AppError {
  try {
    run()
  } catch (e) {
    if (e instanceof AppError) return e
    throw e
  }
  throw new Error('expected a refusal')
}

describe('planLayout', () => {
  it('takes the pipeline files and external data, skips the rest with a reason', () => {
    const plan = planLayout(
      'o/n',
      [...files, { path: 'unet/weights.pb', size: 10 }, { path: 'unet/diffusion_pytorch_model.bin', size: 5 }],
      '',
    )
    const paths = plan.files.map((f) => f.path)
    expect(paths).toContain('unet/weights.pb')
    expect(paths).not.toContain('vae_encoder/model.onnx')
    expect(plan.skipped.find((s) => s.path === 'unet/diffusion_pytorch_model.bin')?.reason).toMatch(/PyTorch/)
    expect(plan.skipped.find((s) => s.path === 'vae_encoder/model.onnx')?.reason).toMatch(/image-to-image/)
  })

  it('reads a subfolder and strips it from the installed paths', () => {
    const nested = files.map((f) => ({ ...f, path: `onnx/${f.path}` }))
    const plan = planLayout('o/n', nested, 'onnx')
    expect(plan.files.find((f) => f.path === 'unet/model.onnx')?.repoPath).toBe('onnx/unet/model.onnx')
    const e = refusal(() => planLayout('o/n', nested, ''))
    expect(e.code).toBe('not-onnx-layout')
    expect(e.message).toContain('add :onnx to the name')
  })

  it('names every missing part', () => {
    const e = refusal(() =>
      planLayout(
        'o/n',
        files.filter((f) => !f.path.startsWith('tokenizer/') && f.path !== 'unet/model.onnx'),
        '',
      ),
    )
    expect(e.message).toMatch(/missing the U-Net \(unet\/model\.onnx\), the tokenizer/)
  })
})

describe('parseRepoSpec', () => {
  it('parses owner/name, @revision and :subfolder', () => {
    expect(parseRepoSpec(' a/b ')).toEqual({ repo: 'a/b', revision: 'main', subfolder: '' })
    expect(parseRepoSpec('CompVis/stable-diffusion-v1-4@onnx')).toEqual({
      repo: 'CompVis/stable-diffusion-v1-4',
      revision: 'onnx',
      subfolder: '',
    })
    expect(parseRepoSpec('a/b@refs/pr/1:onnx/sd')).toEqual({ repo: 'a/b', revision: 'refs/pr/1', subfolder: 'onnx/sd' })
  })

  it('refuses what is not a repository', () => {
    for (const bad of ['a', 'a/b/c', '../x', 'a/b@..', 'a/b:../up', 'https://huggingface.co/a/b']) {
      expect(() => parseRepoSpec(bad), bad).toThrow()
    }
  })
})
