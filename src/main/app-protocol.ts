/**
 * The renderer's own origin, `app://renderer`, instead of `file://` (Electron security checklist
 * item 18: a file:// page may read any local file the process can). Pure logic, no `electron`
 * import, so it is unit tested and shared: src/main/index.ts registers the scheme and serves
 * files through `protocol.handle` with `resolveAppRequest` + `appResponseHeaders`; the request
 * filter (request-policy.ts) and the IPC sender check (ipc/trust.ts) allow this origin; the
 * Chromium e2e server (e2e/support/static-server.ts) serves with the same resolution and headers.
 */
import path from 'node:path'

export const APP_SCHEME = 'app'
export const APP_HOST = 'renderer'
/** Origin of the app's pages (a standard, secure scheme, so CSP 'self' and fetch work). */
export const APP_ORIGIN = `${APP_SCHEME}://${APP_HOST}`
export const APP_ENTRY_URL = `${APP_ORIGIN}/index.html`

/**
 * The production Content-Security-Policy. Sent as a response header with every page, and kept
 * word for word in src/renderer/index.html's meta tag (a test checks they are equal), so the
 * page is covered before and without the header (the e2e's Chromium server, `file://` in a pinch).
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "worker-src 'self' blob:",
  "object-src 'none'",
  "frame-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
].join('; ')

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.wasm': 'application/wasm',
}

export type AppRequest = { ok: true; file: string } | { ok: false; status: 400 | 403 | 404; reason: string }

/**
 * The file under `rootDir` that an app:// URL names. Never throws. Refused: another scheme or
 * host (404), undecodable or NUL-bearing paths (400), and any path that resolves outside
 * `rootDir`, by `..`, encoded `%2e%2e`/`%2f`, backslashes or an absolute path (403). The caller
 * still has to check that the file exists and is a regular file.
 */
export function resolveAppRequest(url: string, rootDir: string): AppRequest {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return { ok: false, status: 400, reason: 'not a URL' }
  }
  if (parsed.protocol !== `${APP_SCHEME}:` || parsed.host !== APP_HOST) {
    return { ok: false, status: 404, reason: `not an ${APP_ORIGIN} URL` }
  }
  let pathname: string
  try {
    pathname = decodeURIComponent(parsed.pathname)
  } catch {
    return { ok: false, status: 400, reason: 'undecodable path' }
  }
  if (pathname.includes('\0')) return { ok: false, status: 400, reason: 'NUL in path' }
  // Backslashes are separators on Windows; refuse them everywhere rather than guess.
  if (pathname.includes('\\')) return { ok: false, status: 403, reason: 'backslash in path' }
  if (pathname === '/' || pathname === '') pathname = '/index.html'
  const root = path.resolve(rootDir)
  const file = path.resolve(root, '.' + pathname)
  if (!file.startsWith(root + path.sep)) return { ok: false, status: 403, reason: 'outside the renderer folder' }
  return { ok: true, file }
}

/** Headers for a served renderer file: its type, the CSP and no MIME sniffing. */
export function appResponseHeaders(file: string): Record<string, string> {
  return {
    'Content-Type': CONTENT_TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream',
    'Content-Security-Policy': CONTENT_SECURITY_POLICY,
    'X-Content-Type-Options': 'nosniff',
    'Cache-Control': 'no-store',
  }
}
