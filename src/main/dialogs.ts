/**
 * The service's DialogAdapter over Electron's native dialogs, attached to the focused window so
 * they are modal to it. Thin on purpose: everything else about saving lives in the service.
 */
import { BrowserWindow, dialog } from 'electron'
import type { DialogAdapter } from './service'

export function electronDialogs(defaultDir: () => string): DialogAdapter {
  const parent = (): BrowserWindow | undefined => BrowserWindow.getFocusedWindow() ?? BrowserWindow.getAllWindows()[0]
  return {
    saveFile: async (request) => {
      const win = parent()
      const options: Electron.SaveDialogOptions = {
        title: request.title,
        defaultPath: `${defaultDir()}/${request.defaultName}`,
        filters: request.filters,
        properties: ['createDirectory', 'showOverwriteConfirmation'],
      }
      const r = win ? await dialog.showSaveDialog(win, options) : await dialog.showSaveDialog(options)
      return r.canceled || !r.filePath ? null : r.filePath
    },
    chooseFolder: async (request) => {
      const win = parent()
      const options: Electron.OpenDialogOptions = {
        title: request.title,
        defaultPath: defaultDir(),
        buttonLabel: request.purpose === 'open-model' ? 'Open model' : 'Save here',
        properties:
          request.purpose === 'open-model' ? ['openDirectory'] : ['openDirectory', 'createDirectory', 'promptToCreate'],
      }
      const r = win ? await dialog.showOpenDialog(win, options) : await dialog.showOpenDialog(options)
      return r.canceled || r.filePaths.length === 0 ? null : r.filePaths[0]!
    },
  }
}
