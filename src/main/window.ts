import path from 'node:path'
import { BrowserWindow } from 'electron'

export type RendererEntry = { kind: 'url'; url: string } | { kind: 'file'; file: string }

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
    },
  })
  win.once('ready-to-show', () => win.show())
  if (entry.kind === 'url') void win.loadURL(entry.url)
  else void win.loadFile(entry.file)
  return win
}

/** The built renderer page, or the dev server when `electron-vite dev` is running. */
export function rendererEntry(mainDir: string, isPackaged: boolean): RendererEntry {
  const devUrl = process.env['ELECTRON_RENDERER_URL']
  if (!isPackaged && devUrl) return { kind: 'url', url: devUrl }
  return { kind: 'file', file: path.join(mainDir, '../renderer/index.html') }
}
