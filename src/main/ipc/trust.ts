/**
 * Which frames may call the api: only the app's own top-level page.
 * Electron-free so the Chromium e2e mode and unit tests use the same check.
 */

export interface SenderInfo {
  /** URL of the sending frame; undefined when the frame is gone. */
  url: string | undefined
  /** True when the sender is the page's top-level frame (not an iframe). */
  isMainFrame: boolean
}

export interface TrustedOrigins {
  /** `http(s)://host:port` origins (the Vite dev server, the e2e loopback server). */
  origins?: string[]
  /** Exact `file://` URLs of app pages (the built `out/renderer/index.html`). */
  files?: string[]
}

export type SenderCheck = (sender: SenderInfo) => boolean

export function createSenderCheck(trusted: TrustedOrigins): SenderCheck {
  const origins = new Set((trusted.origins ?? []).map((o) => new URL(o).origin))
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
    if (url.protocol === 'http:' || url.protocol === 'https:') return origins.has(url.origin)
    return false
  }
}

function stripSearchAndHash(url: URL): URL {
  const copy = new URL(url.href)
  copy.search = ''
  copy.hash = ''
  return copy
}
