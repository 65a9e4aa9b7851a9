/**
 * Builds the `window.api` object from the contract over any transport.
 *
 * The Electron preload passes an ipcRenderer transport; the Chromium e2e mode
 * passes one bound to Playwright bindings; unit tests pass a recording one.
 * Every channel `ns:method` becomes `api.ns.method(request)`, resolving to a
 * `Result` (never rejecting). `api.on(event, listener)` subscribes to events.
 */
import {
  channelNames,
  isEventName,
  isResult,
  splitName,
  type Channel,
  type EventName,
  type EventPayload,
  type RequestOf,
  type ResponseOf,
  type Result,
} from './contract'

export interface Transport {
  /** Sends a request on a channel; resolves to the main side's `Result` envelope. */
  invoke(channel: Channel, request: unknown): Promise<unknown>
  /** Subscribes to an event; returns an unsubscribe function. */
  on(event: EventName, listener: (payload: unknown) => void): () => void
}

export type ApiMethod<C extends Channel> = [RequestOf<C>] extends [undefined]
  ? () => Promise<Result<ResponseOf<C>>>
  : undefined extends RequestOf<C>
    ? (request?: RequestOf<C>) => Promise<Result<ResponseOf<C>>>
    : (request: RequestOf<C>) => Promise<Result<ResponseOf<C>>>

type NamespaceOf<C> = C extends `${infer NS}:${string}` ? NS : never

export type Api = {
  readonly [NS in NamespaceOf<Channel>]: {
    readonly [C in Channel as C extends `${NS}:${infer M}` ? M : never]: ApiMethod<C>
  }
} & {
  /** Subscribes to a main-process event. Returns an unsubscribe function. */
  readonly on: <E extends EventName>(event: E, listener: (payload: EventPayload<E>) => void) => () => void
}

function transportError(error: unknown): Result<never> {
  const message = error instanceof Error ? error.message : String(error)
  return { ok: false, error: { code: 'transport', message } }
}

export function createApi(transport: Transport): Api {
  const api: Record<string, unknown> = {}
  for (const channel of channelNames) {
    const [ns, method] = splitName(channel)
    if (ns === 'on') throw new Error(`Channel namespace "on" is reserved: ${channel}`)
    const group = (api[ns] ??= {}) as Record<string, unknown>
    group[method] = async (request?: unknown): Promise<Result<unknown>> => {
      try {
        const result = await transport.invoke(channel, request)
        if (isResult(result)) return result
        return transportError(new Error(`Malformed response on ${channel}`))
      } catch (error) {
        return transportError(error)
      }
    }
  }
  api.on = (event: string, listener: (payload: unknown) => void): (() => void) => {
    if (!isEventName(event)) throw new Error(`Unknown event: ${event}`)
    if (typeof listener !== 'function') throw new Error('Listener must be a function')
    return transport.on(event, listener)
  }
  return api as unknown as Api
}
