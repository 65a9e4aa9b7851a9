/**
 * The application menu. Items that act on the renderer's state (the picked words, the overlay
 * settings) send an `app:menu` command; the renderer owns the keyboard shortcuts, so the
 * accelerators here are shown but not registered (registerAccelerator: false), which keeps one
 * key press from firing twice.
 */
import type { Menu, MenuItemConstructorOptions } from 'electron'
import type { MenuCommand } from '../shared/ipc/payloads'

/** The part of Electron's Menu class we use (passed in, so tests need no Electron binary). */
export interface MenuFactory {
  buildFromTemplate(template: MenuItemConstructorOptions[]): Menu
}

export function buildMenu(factory: MenuFactory, send: (command: MenuCommand['command']) => void): Menu {
  return factory.buildFromTemplate(menuTemplate(send))
}

export function menuTemplate(
  send: (command: MenuCommand['command']) => void,
  platform: NodeJS.Platform = process.platform,
): MenuItemConstructorOptions[] {
  const isMac = platform === 'darwin'
  const item = (label: string, command: MenuCommand['command'], accelerator?: string): MenuItemConstructorOptions => ({
    label,
    accelerator,
    registerAccelerator: false,
    click: () => send(command),
  })
  const template: MenuItemConstructorOptions[] = [
    ...(isMac ? [{ role: 'appMenu' as const }] : []),
    {
      label: 'File',
      submenu: [
        item('Generate', 'generate', 'CmdOrCtrl+Enter'),
        { type: 'separator' },
        item('Open Model Folder…', 'open-model', 'CmdOrCtrl+O'),
        item('Models…', 'models', 'CmdOrCtrl+M'),
        { type: 'separator' },
        item('Save Overlay…', 'save-overlay', 'CmdOrCtrl+S'),
        item('Save All Words…', 'save-all', 'CmdOrCtrl+Shift+S'),
        item('Export Maps…', 'export-maps', 'CmdOrCtrl+E'),
        { type: 'separator' },
        isMac ? { role: 'close' } : { role: 'quit' },
      ],
    },
    { role: 'editMenu' },
    {
      label: 'View',
      submenu: [
        { role: 'resetZoom' },
        { role: 'zoomIn' },
        { role: 'zoomOut' },
        { type: 'separator' },
        { role: 'togglefullscreen' },
        { type: 'separator' },
        { role: 'reload' },
        { role: 'toggleDevTools' },
      ],
    },
    { role: 'windowMenu' },
  ]
  return template
}
