/**
 * External-data weights changed or removed while the model is loaded. ONNX Runtime used to
 * memory-map them: truncating model.onnx_data killed the process (SIGBUS) and rewriting it in
 * place gave silently wrong images. The engine now hands ORT the weights read into memory, so
 * what happens to the file afterwards cannot reach the loaded model: every generation gives the
 * same image as before. The risky part runs in a child process, so a SIGBUS is a failed test
 * rather than a dead test runner.
 */
import { spawnSync } from 'node:child_process'
import { readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { externalizeUnet } from './externalize'

const ROOT = resolve(__dirname, '../..')
const made: string[] = []
afterAll(() => made.forEach((d) => rmSync(dirname(d), { recursive: true, force: true })))

/** Loads the model as the app does, generates, damages the weights file, generates again. */
function child(damage: 'rewrite' | 'truncate' | 'delete' | 'fifo'): {
  signal: string | null
  status: number | null
  lines: Record<string, unknown>[]
  out: string
} {
  const dir = externalizeUnet(join(ROOT, 'models', 'daam-shapes')) // a fresh copy per case
  made.push(dir)
  const script = `
    const fs = await import('node:fs')
    const { execFileSync } = await import('node:child_process')
    const { ModelManager } = await import(${JSON.stringify(join(ROOT, 'src/main/service/models.ts'))})
    const { runGeneration } = await import(${JSON.stringify(join(ROOT, 'src/main/service/generator.ts'))})
    const say = (o) => console.log(JSON.stringify(o))
    const active = await new ModelManager({ bundledDir: ${JSON.stringify(dir)}, threads: 1 }).ensure()
    const gen = () => runGeneration(active, { prompt: 'a red hat', steps: 2, seed: 1 }, { id: 'x', onProgress: () => {} })
    const before = Buffer.from((await gen()).rgb)
    const w = ${JSON.stringify(join(dir, 'unet', 'model.onnx_data'))}
    const size = fs.statSync(w).size
    const damage = ${JSON.stringify(damage)}
    if (damage === 'rewrite') fs.writeFileSync(w, Buffer.alloc(size)) // same size, zeros, in place
    else if (damage === 'truncate') fs.truncateSync(w, 0)
    else if (damage === 'delete') fs.rmSync(w)
    say({ damaged: damage })
    for (let i = 0; i < 2; i++) {
      try {
        const after = Buffer.from((await gen()).rgb)
        say({ same: after.equals(before) })
      } catch (e) {
        say({ error: e.code, message: e.message })
      }
    }`
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    encoding: 'utf8',
    timeout: 60_000,
    cwd: ROOT,
  })
  const lines = r.stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>)
  return { signal: r.signal, status: r.status, lines, out: `${r.stdout}${r.stderr}`.slice(-2000) }
}

/** Loads the folder in a child process (bounded: a FIFO used to block the load forever). */
function loadInChild(dir: string): { signal: string | null; result: Record<string, unknown>; out: string } {
  const script = `
    const { ModelManager } = await import(${JSON.stringify(join(ROOT, 'src/main/service/models.ts'))})
    try {
      await new ModelManager({ bundledDir: ${JSON.stringify(dir)}, threads: 1 }).ensure()
      console.log(JSON.stringify({ ok: true }))
    } catch (e) {
      console.log(JSON.stringify({ code: e.code, message: e.message }))
    }`
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    encoding: 'utf8',
    timeout: 30_000,
    killSignal: 'SIGKILL',
    cwd: ROOT,
  })
  const line = r.stdout.split('\n').find((l) => l.startsWith('{'))
  return {
    signal: r.signal,
    result: line ? (JSON.parse(line) as Record<string, unknown>) : {},
    out: `${r.stdout}${r.stderr}`,
  }
}

describe('external-data weights that are not a usable file at load', () => {
  for (const kind of ['missing', 'fifo', 'dev-zero', 'outside'] as const) {
    it(`${kind}: a clear error naming the file, no hang`, { timeout: 60_000 }, () => {
      const dir = externalizeUnet(join(ROOT, 'models', 'daam-shapes'))
      made.push(dir)
      const data = join(dir, 'unet', 'model.onnx_data')
      if (kind !== 'outside') rmSync(data)
      if (kind === 'fifo') expect(spawnSync('mkfifo', [data]).status).toBe(0)
      if (kind === 'dev-zero') symlinkSync('/dev/zero', data)
      if (kind === 'outside') {
        // the graph names a file outside the model's folder
        const onnxPath = join(dir, 'unet', 'model.onnx')
        const bytes = readFileSync(onnxPath)
        const from = Buffer.from('model.onnx_data')
        const to = Buffer.from('../../../x_data')
        expect(from.length).toBe(to.length)
        let i = bytes.indexOf(from)
        while (i >= 0) {
          to.copy(bytes, i)
          i = bytes.indexOf(from, i + 1)
        }
        writeFileSync(onnxPath, bytes)
      }
      const r = loadInChild(dir)
      expect(r.signal, r.out).toBeNull()
      expect(r.result.code).toBe('model-invalid')
      expect(r.result.message).toMatch(
        kind === 'missing'
          ? /external weights file .*model\.onnx_data is missing/
          : kind === 'outside'
            ? /external data \.\.\/\.\.\/\.\.\/x_data lies outside the model's folder/
            : /model\.onnx_data is not a regular file/,
      )
    })
  }
})

describe('external-data weights changed while the model is loaded', () => {
  for (const damage of ['rewrite', 'truncate', 'delete'] as const) {
    it(`${damage}: no crash, and every later image is the right one`, { timeout: 90_000 }, () => {
      const r = child(damage)
      expect(r.signal, `the child died: ${r.out}`).toBeNull()
      expect(r.status, r.out).toBe(0)
      expect(r.lines).toEqual([{ damaged: damage }, { same: true }, { same: true }])
    })
  }
})
