/** Which URLs the app's sessions may load (Electron-free so it can be unit tested). */
import path from 'node:path'
import { fileURLToPath } from 'node:url'

export interface HardenOptions {
  /** Folder the renderer's files are loaded from; other file:// URLs are blocked. */
  rendererDir: string
  /** Dev server origin (development only). */
  devServerOrigin?: string
}

export function isAllowedRequest(url: string, options: HardenOptions): boolean {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return false
  }
  switch (parsed.protocol) {
    case 'data:':
    case 'blob:':
    case 'devtools:':
      return true
    case 'file:': {
      const file = path.resolve(fileURLToPath(parsed))
      const root = path.resolve(options.rendererDir) + path.sep
      return file.startsWith(root)
    }
    case 'http:':
    case 'https:':
    case 'ws:':
      if (!options.devServerOrigin) return false
      return parsed.host === new URL(options.devServerOrigin).host
    default:
      return false
  }
}
