/**
 * Chromium e2e mode: builds `window.api` in the page with the same `createApi`
 * factory the Electron preload uses, over a transport bound to Playwright
 * bindings. Bundled to an IIFE by the fixture and injected with addInitScript.
 *
 *   invoke: window.__daamInvoke(channel, request)  -> Node: the same dispatcher as ipcMain
 *   events: Node calls window.__daamEmit(event, payload) via page.evaluate
 */
import { createApi, type Transport } from '../../src/shared/ipc/create-api'

interface PageGlobals {
  top: unknown
  __daamInvoke?: (channel: string, request: unknown) => Promise<unknown>
}

const g = globalThis as unknown as PageGlobals

// Only the top-level app page gets an api, like the Electron preload (no node-integration in subframes).
if (g.top === globalThis) {
  const listeners = new Map<string, Set<(payload: unknown) => void>>()

  const transport: Transport = {
    invoke: (channel, request) => {
      if (!g.__daamInvoke) return Promise.reject(new Error('e2e binding __daamInvoke is missing'))
      return g.__daamInvoke(channel, request)
    },
    on: (event, listener) => {
      let set = listeners.get(event)
      if (!set) listeners.set(event, (set = new Set()))
      const wrapped = (payload: unknown): void => listener(payload)
      set.add(wrapped)
      return () => {
        set.delete(wrapped)
      }
    },
  }

  Object.defineProperty(globalThis, '__daamEmit', {
    value: (event: string, payload: unknown): void => {
      for (const listener of listeners.get(event) ?? []) listener(payload)
    },
  })
  // Frozen and non-writable, as contextBridge makes it in Electron.
  Object.defineProperty(globalThis, 'api', { value: Object.freeze(createApi(transport)), enumerable: true })
}
