/**
 * Only regular files are read from a model folder: a FIFO or a symlink to /dev/zero used to hang
 * loading forever (readFileSync blocks the thread, so no timeout inside the process can fire).
 * Each case runs in a child process bounded by a timeout, so a hang is a failure, not a stuck run.
 */
import { spawnSync } from 'node:child_process'
import { cpSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'

const BUNDLED = resolve(__dirname, '../../../models/daam-shapes')
const ENGINE = resolve(__dirname, 'index.ts')
const made: string[] = []
afterAll(() => made.forEach((d) => rmSync(d, { recursive: true, force: true })))

function copyModel(): string {
  const dir = join(mkdtempSync(join(tmpdir(), 'daam-folder-')), 'model')
  made.push(dir)
  cpSync(BUNDLED, dir, { recursive: true })
  return dir
}

/** Replaces a file of the folder with a FIFO (no writer: opening it blocks) or a symlink. */
function replace(dir: string, rel: string, kind: 'fifo' | 'dev-zero' | 'big'): void {
  const p = join(dir, rel)
  rmSync(p, { force: true })
  if (kind === 'fifo') expect(spawnSync('mkfifo', [p]).status).toBe(0)
  else if (kind === 'dev-zero') symlinkSync('/dev/zero', p)
  else writeFileSync(p, `{"pad": "${'x'.repeat(5 * 1024 * 1024)}"}`)
}

/** Loads the folder (static checks, tokenizer, then ONNX Runtime) in a child process, at most 20 s. */
function loadInChild(dir: string): { status: number | null; timedOut: boolean; out: string } {
  const script = `
    const { LoadedModel } = await import(${JSON.stringify(ENGINE)})
    try {
      const m = await LoadedModel.load(${JSON.stringify(dir)}, { threads: 1 })
      await m.release()
      console.log(JSON.stringify({ ok: true }))
    } catch (e) {
      console.log(JSON.stringify({ ok: false, code: e.code, message: e.message }))
    }`
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    encoding: 'utf8',
    timeout: 20_000,
    killSignal: 'SIGKILL',
  })
  return { status: r.status, timedOut: r.signal === 'SIGKILL', out: `${r.stdout}${r.stderr}` }
}

function result(dir: string): { ok: boolean; code?: string; message?: string } {
  const r = loadInChild(dir)
  expect(r.timedOut, `loading hung: ${r.out}`).toBe(false)
  expect(r.status, r.out).toBe(0)
  return JSON.parse(
    r.out
      .trim()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .pop() ?? '{}',
  )
}

const cases: { rel: string; kind: 'fifo' | 'dev-zero' | 'big'; code: string; message: RegExp }[] = [
  {
    rel: 'model_index.json',
    kind: 'fifo',
    code: 'model-index-invalid',
    message: /model_index\.json is not a regular file/,
  },
  { rel: 'model_index.json', kind: 'dev-zero', code: 'model-index-invalid', message: /not a regular file/ },
  {
    rel: 'unet/config.json',
    kind: 'fifo',
    code: 'config-invalid',
    message: /unet\/config\.json is not a regular file/,
  },
  { rel: 'scheduler/scheduler_config.json', kind: 'dev-zero', code: 'scheduler-config', message: /not a regular file/ },
  { rel: 'vae_decoder/config.json', kind: 'big', code: 'config-invalid', message: /too large.*at most 1 MB/ },
  {
    rel: 'tokenizer/vocab.json',
    kind: 'fifo',
    code: 'tokenizer-missing',
    message: /vocab\.json is not a regular file/,
  },
  {
    rel: 'tokenizer/merges.txt',
    kind: 'dev-zero',
    code: 'tokenizer-missing',
    message: /merges\.txt is not a regular file/,
  },
  { rel: 'tokenizer/special_tokens_map.json', kind: 'fifo', code: 'tokenizer-missing', message: /not a regular file/ },
  {
    rel: 'unet/model.onnx',
    kind: 'fifo',
    code: 'component-missing',
    message: /unet\/model\.onnx is not a regular file/,
  },
  { rel: 'text_encoder/model.onnx', kind: 'dev-zero', code: 'component-missing', message: /not a regular file/ },
]

describe('model folders: only regular files are read', () => {
  for (const c of cases) {
    it(`${c.rel} as ${c.kind}: refused with a clear message, no hang`, { timeout: 30_000 }, () => {
      const dir = copyModel()
      replace(dir, c.rel, c.kind)
      const r = result(dir)
      expect(r.ok).toBe(false)
      expect(r.code).toBe(c.code)
      expect(r.message).toMatch(c.message)
    })
  }

  it('a symlink to a regular file is followed', { timeout: 30_000 }, () => {
    const dir = copyModel()
    const real = join(dir, '..', 'vocab-real.json')
    cpSync(join(dir, 'tokenizer/vocab.json'), real)
    rmSync(join(dir, 'tokenizer/vocab.json'))
    symlinkSync(real, join(dir, 'tokenizer/vocab.json'))
    expect(result(dir)).toEqual({ ok: true })
  })
})
