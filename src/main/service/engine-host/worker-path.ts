/**
 * Where the engine worker's code is, for every way the service runs. One function, used by
 * EngineClient (client.ts) unless its caller names a worker:
 *
 *  - built: electron-vite bundles worker-entry.ts as a second main-process entry,
 *    `out/main/engine-worker.js` (electron.vite.config.ts), next to the bundle that holds this
 *    code; the packaged app has both inside app.asar, which Electron's worker threads can read.
 *  - source: vitest, the tsx CLIs and benches, and the Playwright e2e fixture (which runs the
 *    service in its own Node process) run src/ as TypeScript. A worker starts with plain Node
 *    whatever loader its parent uses, so worker-entry.ts is started with tsx's loader
 *    registered in the worker (`--import`, by absolute URL so the working folder does not matter).
 */
import fs from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import { pathToFileURL } from 'node:url'

/** File name of the built worker (the electron-vite entry's name plus `.js`). */
export const ENGINE_WORKER_BUNDLE = 'engine-worker.js'
const ENGINE_WORKER_SOURCE = 'worker-entry.ts'

export interface EngineWorkerSpec {
  filename: string
  /** Node options for the worker; undefined inherits the process's. */
  execArgv?: string[]
}

export function resolveEngineWorker(fromDir: string = __dirname): EngineWorkerSpec {
  const built = path.join(fromDir, ENGINE_WORKER_BUNDLE)
  if (fs.existsSync(built)) return { filename: built }
  const source = path.join(fromDir, ENGINE_WORKER_SOURCE)
  if (fs.existsSync(source)) {
    const tsx = createRequire(source).resolve('tsx')
    return { filename: source, execArgv: ['--import', pathToFileURL(tsx).href] }
  }
  throw new Error(`The image engine's code is missing: neither ${built} (a build) nor ${source} (the sources) exists.`)
}
