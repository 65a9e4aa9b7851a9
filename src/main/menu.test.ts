/** The application menu: File items send renderer commands; shortcuts are shown, not registered. */
import type { MenuItemConstructorOptions } from 'electron'
import { describe, expect, it } from 'vitest'
import { menuTemplate } from './menu'
import type { MenuCommand } from '../shared/ipc/payloads'

function items(t: MenuItemConstructorOptions[], label: string): MenuItemConstructorOptions[] {
  const menu = t.find((m) => m.label === label)
  return (menu?.submenu as MenuItemConstructorOptions[] | undefined) ?? []
}

describe('application menu', () => {
  it('File has generate, open, models, save overlay, save all, export; each sends its command', () => {
    const sent: MenuCommand['command'][] = []
    const file = items(
      menuTemplate((c) => sent.push(c), 'linux'),
      'File',
    ).filter((i) => i.label)
    expect(file.map((i) => [i.label, i.accelerator])).toEqual([
      ['Generate', 'CmdOrCtrl+Enter'],
      ['Open Model Folder…', 'CmdOrCtrl+O'],
      ['Models…', 'CmdOrCtrl+M'],
      ['Save Overlay…', 'CmdOrCtrl+S'],
      ['Save All Words…', 'CmdOrCtrl+Shift+S'],
      ['Export Maps…', 'CmdOrCtrl+E'],
    ])
    for (const i of file) {
      expect(i.registerAccelerator).toBe(false) // the renderer owns the keys: one press, one action
      ;(i.click as () => void)()
    }
    expect(sent).toEqual(['generate', 'open-model', 'models', 'save-overlay', 'save-all', 'export-maps'])
  })

  it('has Edit and View (zoom) menus, and the app menu on macOS', () => {
    const linux = menuTemplate(() => {}, 'linux')
    expect(linux.some((m) => m.role === 'editMenu')).toBe(true)
    expect(items(linux, 'View').map((i) => i.role)).toEqual(expect.arrayContaining(['zoomIn', 'zoomOut', 'resetZoom']))
    expect(menuTemplate(() => {}, 'darwin')[0]!.role).toBe('appMenu')
  })
})
