/** planLayout on an SDXL repository listing (the tiny SDXL fixture's files, Optimum's layout). */
import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import type { HubFile } from './hub-client'
import { planLayout } from './layout'

const SDXL = path.resolve(__dirname, '..', '..', '..', 'test', 'fixtures', 'sdxl-tiny')
const files: HubFile[] = (fs.readdirSync(SDXL, { recursive: true, withFileTypes: true }) as fs.Dirent[])
  .filter((e) => e.isFile())
  .map((e) => {
    const p = path.relative(SDXL, path.join(e.parentPath, e.name)).split(path.sep).join('/')
    return { path: p, size: fs.statSync(path.join(SDXL, p)).size }
  })

describe('planLayout on SDXL', () => {
  it('fetches the second text encoder and tokenizer too', () => {
    const paths = planLayout('o/sdxl', files, '').files.map((f) => f.path)
    for (const p of ['text_encoder_2/model.onnx', 'text_encoder_2/config.json', 'tokenizer_2/vocab.json']) {
      expect(paths).toContain(p)
    }
    expect(paths).toContain('tokenizer_2/special_tokens_map.json') // its own pad token ("!")
  })
})
