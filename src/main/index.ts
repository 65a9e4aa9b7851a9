/**
 * Electron main process: thin glue between Electron and the transport-agnostic
 * service (`./service`). Everything testable lives outside this file.
 */
import path from 'node:path'
import { app, BrowserWindow, ipcMain, Menu, safeStorage, shell } from 'electron'
import { electronDialogs } from './dialogs'
import { disableOrtTelemetry } from './engine/telemetry'
import { buildMenu } from './menu'
import { forwardEvents } from './ipc/dispatch'
import { registerIpc } from './ipc/register'
import { createSenderCheck } from './ipc/trust'
import { hardenApp } from './security'
import { safeStorageSecrets } from './secret-store'
import { AppService, testOverridesFromEnv } from './service'
import { createMainWindow, registerAppScheme, rendererEntry, serveRenderer } from './window'

// Before any ONNX Runtime session exists (engine/telemetry.ts).
disableOrtTelemetry()

// Test-only switches (e2e): ignored in a packaged build, and a bad value is logged, never fatal.
const overrides = testOverridesFromEnv(process.env, app.isPackaged)
for (const warning of overrides.warnings) console.warn(`[options] ${warning}`)
// Must happen before the single-instance lock, which is keyed on userData.
if (overrides.userDataDir) app.setPath('userData', overrides.userDataDir)

registerAppScheme()

if (!app.requestSingleInstanceLock()) {
  app.quit()
} else {
  start()
}

function start(): void {
  const entry = rendererEntry(app.isPackaged)
  const rendererDir = path.join(__dirname, '../renderer')
  const preloadFile = path.join(__dirname, '../preload/index.js')
  const devServerOrigin = entry.url.startsWith('http') ? new URL(entry.url).origin : undefined

  hardenApp({ devServerOrigin })

  let mainWindow: BrowserWindow | null = null
  const openWindow = (): void => {
    mainWindow = createMainWindow(entry, preloadFile)
    mainWindow.on('closed', () => (mainWindow = null))
  }

  app.on('second-instance', () => {
    if (!mainWindow) return
    if (mainWindow.isMinimized()) mainWindow.restore()
    mainWindow.focus()
  })

  void app.whenReady().then(() => {
    serveRenderer(rendererDir)
    const service = new AppService({
      appName: app.getName(),
      appVersion: app.getVersion(),
      modelsDir: app.isPackaged ? path.join(process.resourcesPath, 'models') : path.join(app.getAppPath(), 'models'),
      userDataDir: app.getPath('userData'),
      dialogs: electronDialogs(() => app.getPath('pictures')),
      // model library: HF_ENDPOINT (mirrors) fixes the Hub endpoint; the token is encrypted by the OS
      hubEndpoint: process.env.HF_ENDPOINT || undefined,
      secrets: safeStorageSecrets(safeStorage, path.join(app.getPath('userData'), 'secrets')),
      revealFolder: (dir) => shell.showItemInFolder(dir),
      ...overrides.service,
    })
    Menu.setApplicationMenu(buildMenu(Menu, (command) => service.events.emit('app:menu', { command })))

    registerIpc(ipcMain, service, {
      isTrustedSender: createSenderCheck({ origins: [entry.url] }),
      onInternalError: (channel, error) => console.error(`[ipc] ${channel} failed:`, error),
    })
    forwardEvents(service.events, (event, payload) => {
      for (const win of BrowserWindow.getAllWindows()) {
        if (!win.isDestroyed()) win.webContents.send(event, payload)
      }
    })

    // Quitting waits for the engine's worker to leave ONNX Runtime (at most one U-Net call once
    // cancelled): exiting while it is inside a call aborts the process (engine-host/client.ts).
    let engine: 'running' | 'stopping' | 'stopped' = 'running'
    app.on('before-quit', (event) => {
      if (engine === 'stopped') return
      event.preventDefault()
      if (engine === 'stopping') return
      engine = 'stopping'
      void service.dispose().finally(() => {
        engine = 'stopped'
        app.quit()
      })
    })
    app.on('activate', () => {
      if (BrowserWindow.getAllWindows().length === 0) openWindow()
    })
    openWindow()
  })

  app.on('window-all-closed', () => {
    if (process.platform !== 'darwin') app.quit()
  })
}
