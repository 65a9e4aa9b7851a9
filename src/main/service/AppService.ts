import fs from 'node:fs'
import path from 'node:path'
import * as ort from 'onnxruntime-node'
import sharp from 'sharp'
import type { AppInfo, EchoReply } from '../../shared/ipc/contract'
import { ServiceEvents } from './events'
import { BUNDLED_MODEL_ID, defaultServiceOptions, type ServiceOptions } from './options'

/**
 * The main-process logic, independent of any transport: Electron IPC, the
 * Chromium e2e bindings, unit tests and CLIs all drive this same object.
 * Must not import `electron`.
 */
export class AppService {
  readonly options: ServiceOptions
  readonly events = new ServiceEvents()

  constructor(options: Partial<ServiceOptions> = {}) {
    this.options = defaultServiceOptions(options)
  }

  get bundledModelDir(): string {
    return path.join(this.options.modelsDir, BUNDLED_MODEL_ID)
  }

  getAppInfo(): AppInfo {
    const modelDir = this.bundledModelDir
    return {
      name: this.options.appName,
      version: this.options.appVersion,
      platform: process.platform,
      arch: process.arch,
      versions: {
        node: process.versions.node,
        electron: process.versions.electron,
        chrome: process.versions.chrome,
        onnxruntime: ort.env.versions.node ?? ort.env.versions.common,
        sharp: sharp.versions.sharp,
        vips: sharp.versions.vips,
      },
      bundledModel: { path: modelDir, exists: fs.existsSync(modelDir) },
      userDataDir: this.options.userDataDir,
    }
  }

  echo(text: string): EchoReply {
    const reply = { text, receivedAt: new Date().toISOString() }
    this.events.emit('app:echoed', { text })
    return reply
  }

  /** Releases resources (sessions, workers). Called on app quit and after tests. */
  async dispose(): Promise<void> {}
}
