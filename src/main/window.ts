/**
 * The main window and where its page comes from. Callers: src/main/index.ts.
 *
 * Built and packaged, the renderer is served from the app's own origin app://renderer (Electron
 * security checklist item 18: not file://), by a protocol handler that serves only files under the
 * renderer folder, with the CSP as a response header; the pure parts live in app-protocol.ts.
 * In development (`electron-vite dev`) the page comes from the Vite dev server.
 */
import fs from 'node:fs/promises'
import { BrowserWindow, protocol } from 'electron'
import { APP_ENTRY_URL, APP_SCHEME, appResponseHeaders, resolveAppRequest } from './app-protocol'

export interface RendererEntry {
  url: string
}

export function createMainWindow(entry: RendererEntry, preloadFile: string): BrowserWindow {
  const win = new BrowserWindow({
    width: 1320,
    height: 860,
    minWidth: 960,
    minHeight: 620,
    show: false,
    title: 'DAAM Studio',
    backgroundColor: '#0e1014',
    autoHideMenuBar: true,
    webPreferences: {
      preload: preloadFile,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      spellcheck: false,
      // Middle-click (auxclick) could open links in new windows; the open handler denies them too.
      disableBlinkFeatures: 'Auxclick',
    },
  })
  win.once('ready-to-show', () => win.show())
  void win.loadURL(entry.url)
  return win
}

/** The built renderer on app://, or the dev server when `electron-vite dev` is running. */
export function rendererEntry(isPackaged: boolean): RendererEntry {
  const devUrl = process.env['ELECTRON_RENDERER_URL']
  if (!isPackaged && devUrl) return { url: devUrl }
  return { url: APP_ENTRY_URL }
}

/**
 * Declares app:// a standard, secure scheme (an origin for CSP 'self', module scripts and fetch).
 * `corsEnabled` stays off: it would let other origins read app:// responses. No `bypassCSP`.
 * Must run before the app is ready.
 */
export function registerAppScheme(): void {
  protocol.registerSchemesAsPrivileged([
    { scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true } },
  ])
}

/** Serves app://renderer/* from `rendererDir` (after ready): regular files only, nothing outside. */
export function serveRenderer(rendererDir: string): void {
  protocol.handle(APP_SCHEME, async (request) => {
    const r = resolveAppRequest(request.url, rendererDir)
    if (!r.ok) return new Response(r.reason, { status: r.status })
    try {
      if (!(await fs.stat(r.file)).isFile()) return new Response('not found', { status: 404 })
      return new Response(new Uint8Array(await fs.readFile(r.file)), { headers: appResponseHeaders(r.file) })
    } catch {
      return new Response('not found', { status: 404 })
    }
  })
}
