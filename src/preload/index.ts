/**
 * Preload (sandboxed): exposes `window.api`, built by the shared factory over
 * an ipcRenderer transport. Nothing else crosses the context bridge.
 */
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron'
import { createApi, type Transport } from '../shared/ipc/create-api'

const transport: Transport = {
  invoke: (channel, request) => ipcRenderer.invoke(channel, request),
  on: (event, listener) => {
    const wrapped = (_event: IpcRendererEvent, payload: unknown): void => listener(payload)
    ipcRenderer.on(event, wrapped)
    return () => {
      ipcRenderer.removeListener(event, wrapped)
    }
  },
}

contextBridge.exposeInMainWorld('api', createApi(transport))
