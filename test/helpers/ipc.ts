/** Test doubles for the Electron side of the IPC: a recording ipcMain and frame events. */
import type { IpcMainLike, InvokeEventLike } from '../../src/main/ipc/register'

export const APP_URL = 'file:///opt/daam/out/renderer/index.html'

type Listener = (event: InvokeEventLike, ...args: unknown[]) => unknown

export class RecordingIpcMain implements IpcMainLike {
  readonly handlers = new Map<string, Listener>()
  readonly removed: string[] = []

  handle(channel: string, listener: Listener): void {
    if (this.handlers.has(channel)) throw new Error(`Second handler for ${channel}`)
    this.handlers.set(channel, listener)
  }

  removeHandler(channel: string): void {
    this.handlers.delete(channel)
    this.removed.push(channel)
  }

  /** Calls a registered handler the way Electron would. */
  async invoke(channel: string, payload: unknown, event: InvokeEventLike = frameEvent(APP_URL)): Promise<unknown> {
    const handler = this.handlers.get(channel)
    if (!handler) throw new Error(`No handler for ${channel}`)
    return handler(event, payload)
  }
}

/** An invoke event from a frame at `url`; `parent` non-null makes it a subframe. */
export function frameEvent(url: string, parent: unknown = null): InvokeEventLike {
  return { senderFrame: { url, parent } as InvokeEventLike['senderFrame'] }
}
