/**
 * inspectModelFolder on SDXL folders (Optimum's layout, the tiny fixture test/fixtures/sdxl-tiny):
 * the second text encoder and tokenizer, force_zeros_for_empty_prompt, and what a broken one says.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { inspectModelFolder, ModelFolderError } from './model-folder'

const SDXL = resolve(__dirname, '../../../test/fixtures/sdxl-tiny')
const BUNDLED = resolve(__dirname, '../../../models/daam-shapes')
const made: string[] = []
afterAll(() => made.forEach((d) => rmSync(d, { recursive: true, force: true })))

function copy(edit: (dir: string) => void): string {
  const dir = mkdtempSync(join(tmpdir(), 'daam-sdxl-folder-'))
  made.push(dir)
  cpSync(SDXL, dir, { recursive: true })
  edit(dir)
  return dir
}

function error(dir: string): ModelFolderError {
  try {
    inspectModelFolder(dir)
  } catch (e) {
    if (e instanceof ModelFolderError) return e
    throw e
  }
  throw new Error('inspected without error')
}

describe('inspectModelFolder on SDXL', () => {
  it('reads text_encoder_2, tokenizer_2, their config and force_zeros_for_empty_prompt', () => {
    const f = inspectModelFolder(SDXL)
    expect(f.textEncoder2Path).toBe(join(SDXL, 'text_encoder_2', 'model.onnx'))
    expect(f.tokenizer2Dir).toBe(join(SDXL, 'tokenizer_2'))
    expect(f.text2HiddenSize).toBe(48)
    expect(f.forceZerosForEmptyPrompt).toBe(true)
    expect(f.scalingFactor).toBe(0.13025)
    expect(f.crossAttentionDim).toBe(80)
    const sd = inspectModelFolder(BUNDLED)
    expect(sd.textEncoder2Path).toBeUndefined()
    expect(sd.tokenizer2Dir).toBeUndefined()
  })

  it('false, absent (diffusers’ default true) and invalid force_zeros_for_empty_prompt', () => {
    const set = (v: unknown) =>
      copy((d) => {
        const p = join(d, 'model_index.json')
        const index = JSON.parse(readFileSync(p, 'utf8')) as Record<string, unknown>
        if (v === undefined) delete index.force_zeros_for_empty_prompt
        else index.force_zeros_for_empty_prompt = v
        writeFileSync(p, JSON.stringify(index))
      })
    expect(inspectModelFolder(set(false)).forceZerosForEmptyPrompt).toBe(false)
    expect(inspectModelFolder(set(undefined)).forceZerosForEmptyPrompt).toBe(true)
    const e = error(set('yes'))
    expect(e.code).toBe('model-index-invalid')
    expect(e.message).toMatch(/'force_zeros_for_empty_prompt' must be true or false, got "yes"/)
  })

  it('text_encoder_2/ without its model, and without tokenizer_2/', () => {
    const noModel = error(copy((d) => rmSync(join(d, 'text_encoder_2', 'model.onnx'))))
    expect(noModel.code).toBe('component-missing')
    expect(noModel.message).toMatch(
      /missing the second text encoder \(SDXL\): .*text_encoder_2\/model.onnx does not exist/,
    )
    const noTokenizer = error(copy((d) => rmSync(join(d, 'tokenizer_2'), { recursive: true })))
    expect(noTokenizer.code).toBe('tokenizer-missing')
    expect(noTokenizer.path).toMatch(/tokenizer_2$/)
  })
})
