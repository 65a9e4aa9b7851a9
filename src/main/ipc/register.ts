/**
 * Registers one ipcMain handler per contract channel. Takes ipcMain as a
 * parameter (type-only Electron import) so tests can pass a recording stand-in.
 */
import type { IpcMainInvokeEvent } from 'electron'
import { channelNames } from '../../shared/ipc/contract'
import type { AppService } from '../service/app-service'
import { bindService } from '../service/handlers'
import { createDispatcher, type DispatcherOptions } from './dispatch'
import type { SenderInfo } from './trust'

/** The part of an invoke event we read: the sending frame. */
export type InvokeEventLike = {
  senderFrame: Pick<NonNullable<IpcMainInvokeEvent['senderFrame']>, 'url' | 'parent'> | null
}

/** The part of Electron's `ipcMain` we use. */
export interface IpcMainLike {
  handle(channel: string, listener: (event: InvokeEventLike, ...args: unknown[]) => unknown): void
  removeHandler(channel: string): void
}

export function senderOf(event: InvokeEventLike): SenderInfo {
  const frame = event.senderFrame
  return { url: frame?.url, isMainFrame: frame != null && frame.parent === null }
}

export function registerIpc(ipcMain: IpcMainLike, service: AppService, options: DispatcherOptions): () => void {
  const dispatch = createDispatcher(bindService(service), options)
  for (const channel of channelNames) {
    ipcMain.handle(channel, (event, payload) => dispatch(channel, payload, senderOf(event)))
  }
  return () => {
    for (const channel of channelNames) ipcMain.removeHandler(channel)
  }
}
