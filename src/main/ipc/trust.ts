/**
 * Which frames may call the api: only the app's own top-level page.
 * Electron-free so the Chromium e2e mode and unit tests use the same check.
 * Callers: src/main/index.ts (the app://renderer origin, or the dev server), the e2e fixture
 * (its loopback server's origin), the contract tests.
 */
import { APP_SCHEME } from '../app-protocol'

export interface SenderInfo {
  /** URL of the sending frame; undefined when the frame is gone. */
  url: string | undefined
  /** True when the sender is the page's top-level frame (not an iframe). */
  isMainFrame: boolean
}

export interface TrustedOrigins {
  /**
   * Origins: `app://renderer` (the packaged and built app, see app-protocol.ts) and
   * `http(s)://host:port` (the Vite dev server, the e2e loopback server).
   */
  origins?: string[]
  /** Exact `file://` URLs of app pages (the built `out/renderer/index.html`). */
  files?: string[]
}

export type SenderCheck = (sender: SenderInfo) => boolean

export function createSenderCheck(trusted: TrustedOrigins): SenderCheck {
  const origins = new Set((trusted.origins ?? []).map((o) => originOf(new URL(o))))
  const files = new Set((trusted.files ?? []).map((f) => stripSearchAndHash(new URL(f)).href))
  return (sender) => {
    if (!sender.isMainFrame || !sender.url) return false
    let url: URL
    try {
      url = new URL(sender.url)
    } catch {
      return false
    }
    if (url.protocol === 'file:') return files.has(stripSearchAndHash(url).href)
    const origin = originOf(url)
    return origin !== undefined && origins.has(origin)
  }
}

/**
 * scheme://host[:port] for the schemes pages are served from. Not `URL.origin`: WHATWG URL
 * gives 'null' as the origin of a custom scheme such as app://, which would match nothing.
 */
function originOf(url: URL): string | undefined {
  if (url.protocol === 'http:' || url.protocol === 'https:') return url.origin
  if (url.protocol === `${APP_SCHEME}:` && url.host !== '') return `${url.protocol}//${url.host}`
  return undefined
}

function stripSearchAndHash(url: URL): URL {
  const copy = new URL(url.href)
  copy.search = ''
  copy.hash = ''
  return copy
}
