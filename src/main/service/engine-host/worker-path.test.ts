import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { Worker } from 'node:worker_threads'
import { describe, expect, it } from 'vitest'
import config from '../../../../electron.vite.config'
import { ENGINE_WORKER_BUNDLE, resolveEngineWorker } from './worker-path'

describe('resolveEngineWorker', () => {
  it('from the sources: worker-entry.ts with tsx registered in the worker, by absolute URL', () => {
    const spec = resolveEngineWorker(__dirname)
    expect(spec.filename).toBe(path.join(__dirname, 'worker-entry.ts'))
    expect(spec.execArgv?.[0]).toBe('--import')
    const loader = fileURLToPath(spec.execArgv![1]!)
    expect(path.isAbsolute(loader) && fs.existsSync(loader)).toBe(true)
    expect(loader).toMatch(/[/\\]tsx[/\\]/)
  })

  it('from a build: the bundled worker next to the bundle, with the process options', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'daam-worker-path-'))
    try {
      fs.writeFileSync(path.join(dir, ENGINE_WORKER_BUNDLE), '')
      fs.writeFileSync(path.join(dir, 'worker-entry.ts'), '') // a build wins over stray sources
      expect(resolveEngineWorker(dir)).toEqual({ filename: path.join(dir, ENGINE_WORKER_BUNDLE) })
    } finally {
      fs.rmSync(dir, { recursive: true })
    }
  })

  it('says what is missing when there is neither', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'daam-worker-path-'))
    try {
      expect(() => resolveEngineWorker(dir)).toThrow(
        `The image engine's code is missing: neither ${path.join(dir, ENGINE_WORKER_BUNDLE)} (a build) nor ` +
          `${path.join(dir, 'worker-entry.ts')} (the sources) exists.`,
      )
    } finally {
      fs.rmSync(dir, { recursive: true })
    }
  })

  it('the build names the worker entry as the resolver expects, and the main entry beside it', () => {
    const main = (config as { main?: { build?: { rollupOptions?: { input?: Record<string, string> } } } }).main
    const input = main?.build?.rollupOptions?.input ?? {}
    expect(`${Object.keys(input).find((k) => input[k] === path.join(__dirname, 'worker-entry.ts'))}.js`).toBe(
      ENGINE_WORKER_BUNDLE,
    )
    expect(input['index']).toBe(path.resolve(__dirname, '../../index.ts'))
  })

  it('a TypeScript worker started as resolved runs TypeScript (parameter properties included)', async () => {
    const dir = fs.mkdtempSync(path.join(__dirname, '.probe-'))
    try {
      // The resolver's tsx option, exercised on a probe entry next to a real worker-entry.ts.
      fs.writeFileSync(
        path.join(dir, 'worker-entry.ts'),
        "import { parentPort } from 'node:worker_threads'\n" +
          'class Probe { constructor(private readonly n: number) {} get twice(): number { return this.n * 2 } }\n' +
          'parentPort!.postMessage(new Probe(21).twice)\n',
      )
      const spec = resolveEngineWorker(dir)
      const worker = new Worker(spec.filename, { execArgv: spec.execArgv })
      const answer = await new Promise((resolve, reject) => {
        worker.once('message', resolve)
        worker.once('error', reject)
      })
      await worker.terminate()
      expect(answer).toBe(42)
    } finally {
      fs.rmSync(dir, { recursive: true })
    }
  })
})
