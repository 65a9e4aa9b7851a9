/**
 * The image engine's worker as electron-vite builds it (`out/main/engine-worker.js`, run
 * `npm run build` first): the file the Electron app starts. The other e2e specs run the service
 * from source, whose worker is worker-entry.ts under tsx; this one checks the bundle itself.
 */
import fs from 'node:fs'
import path from 'node:path'
import { expect, test } from '@playwright/test'
import { EngineClient } from '../src/main/service'
import { ENGINE_WORKER_BUNDLE, resolveEngineWorker } from '../src/main/service/engine-host/worker-path'

const ROOT = path.resolve(__dirname, '..')
const OUT_MAIN = path.join(ROOT, 'out', 'main')

test('the built engine worker loads ONNX Runtime only after its set-up, from a chunk, not inlined', () => {
  const requires = (file: string): string[] =>
    [...fs.readFileSync(path.join(OUT_MAIN, file), 'utf8').matchAll(/require\("([^"]+)"\)/g)].map((m) => m[1]!)
  // The entry itself requires only its own chunks: no package is loaded before prepareOnnxRuntime().
  const entry = requires(ENGINE_WORKER_BUNDLE)
  expect(entry.every((d) => d.startsWith('./'))).toBe(true)
  const engine = entry.find((d) => d.startsWith('./engine-thread-'))
  expect(engine).toBeDefined()
  // Everything the engine chunk loads, following its own chunks (shared code lands in chunks of
  // its own, e.g. the PNG writer that the pipeline and the saves share).
  const deps = new Set<string>()
  const pending = [engine!]
  while (pending.length) {
    for (const d of requires(pending.pop()!)) {
      if (deps.has(d)) continue
      deps.add(d)
      if (d.startsWith('./')) pending.push(d.endsWith('.js') ? d : `${d}.js`)
    }
  }
  expect(deps).toContain('onnxruntime-node')
  expect(deps).toContain('sharp')
  expect(deps).not.toContain('electron')
})

test('the built engine worker loads the bundled model and generates, with progress', async () => {
  const spec = resolveEngineWorker(OUT_MAIN)
  expect(spec).toEqual({ filename: path.join(OUT_MAIN, ENGINE_WORKER_BUNDLE) })
  const client = new EngineClient({ bundledDir: path.join(ROOT, 'models', 'daam-shapes'), threads: 1, worker: spec })
  try {
    const model = await client.ensure()
    expect(model.bundled).toBe(true)
    const steps: number[] = []
    const payload = await client.generate(
      { prompt: 'a red hat', steps: 2, seed: 1 },
      '20260101-000000-000-e2e000',
      (p) => steps.push(p.step),
    )
    expect(steps).toEqual([1, 2])
    expect(payload.rgb).toBeInstanceOf(Uint8Array)
    expect(payload.rgb.length).toBe(model.width * model.height * 3)
    expect(payload.record).toBeInstanceOf(Uint8Array)
  } finally {
    await client.release()
  }
})
