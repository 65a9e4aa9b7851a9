/**
 * App-wide hardening: no navigation, no new windows, no webviews, no
 * permissions, and no network requests outside the app's own origin (and the
 * Vite dev server in development). Caller: src/main/index.ts, before ready.
 */
import { app, session } from 'electron'
import { isAllowedRequest, type HardenOptions } from './request-policy'

export function hardenApp(options: HardenOptions): void {
  app.on('web-contents-created', (_event, contents) => {
    contents.on('will-navigate', (event) => event.preventDefault())
    contents.on('will-redirect', (event) => event.preventDefault())
    contents.on('will-attach-webview', (event) => event.preventDefault())
    contents.setWindowOpenHandler(() => ({ action: 'deny' }))
  })

  void app.whenReady().then(() => {
    const ses = session.defaultSession
    ses.setPermissionRequestHandler((_contents, _permission, callback) => callback(false))
    ses.setPermissionCheckHandler(() => false)
    ses.webRequest.onBeforeRequest((details, callback) => {
      const allowed = isAllowedRequest(details.url, options)
      if (!allowed) console.warn(`[security] blocked request to ${details.url}`)
      callback({ cancel: !allowed })
    })
  })
}
