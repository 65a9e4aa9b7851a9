/**
 * The ONE IPC contract between the renderer and the main process.
 *
 * Every request/response channel is declared once in `channels`, every
 * main-to-renderer event once in `events`. Everything else is derived from
 * these two tables: the `window.api` object (see `createApi.ts`), the typed
 * handler table main must implement (`src/main/service/handlers.ts`), the
 * ipcMain registration and its payload validation (`src/main/ipc/`).
 *
 * How to add a channel, e.g. `model:load`:
 *   1. Add `'model:load': { request: z.object({...}), response: returns<LoadedModel>() }`
 *      to `channels` below (names are `namespace:method`; the renderer then calls
 *      `window.api.model.load(req)` and gets a `Result<LoadedModel>`).
 *   2. Add `'model:load': (req) => service.loadModel(req)` to `bindService` in
 *      `src/main/service/handlers.ts` (tsc fails until you do).
 *   3. Implement the method on the service class (`src/main/service/`).
 * Requests without a payload use `z.undefined()`; the api method then takes no argument.
 * The request schema is the security boundary: keep it strict (bounded strings,
 * integer ranges, `.strict()` objects). Main validates every payload with it.
 *
 * How to add an event, e.g. `generate:progress`: add
 * `'generate:progress': returns<Progress>()` to `events`, then emit it from the
 * service with `service.events.emit('generate:progress', payload)`. The renderer
 * subscribes with `window.api.on('generate:progress', cb)` (returns an unsubscribe fn).
 *
 * Failures never cross the boundary as thrown errors: every call resolves to
 * `{ ok: true, value } | { ok: false, error: { code, message } }`. Service code throws
 * `AppError(code, message)` (see `errors.ts`) to pick a specific code.
 */
import { z } from 'zod'
import type { AppInfo, EchoReply, EchoedEvent } from './types'

export type { AppInfo, EchoReply, EchoedEvent } from './types'

/** Type-only marker for a response (or event payload) type. Carries no runtime data. */
export interface Returns<T> {
  readonly kind: 'returns'
  /** Phantom field: never set, only used by the type system. */
  readonly __type?: T
}

/** Declares the response type of a channel, or the payload type of an event. */
export function returns<T>(): Returns<T> {
  return { kind: 'returns' }
}

export interface ChannelSpec {
  readonly request: z.ZodType
  readonly response: Returns<unknown>
}

/** Channel and event names are `namespace:method`; the api groups methods by namespace. */
export type ChannelName = `${string}:${string}`

export const channels = {
  /** Versions of the app and its native runtimes, and where the bundled model lives. */
  'app:getInfo': { request: z.undefined(), response: returns<AppInfo>() },
  /** Round trip for diagnostics: returns the text and emits an `app:echoed` event. */
  'app:echo': {
    request: z.object({ text: z.string().max(10_000) }).strict(),
    response: returns<EchoReply>(),
  },
} as const satisfies Record<ChannelName, ChannelSpec>

export const events = {
  /** Pushed by the service after every `app:echo` call. */
  'app:echoed': returns<EchoedEvent>(),
} as const satisfies Record<ChannelName, Returns<unknown>>

export type Channels = typeof channels
export type Channel = keyof Channels
export type Events = typeof events
export type EventName = keyof Events

/** What the renderer sends (schema input, before defaults/transforms). */
export type RequestOf<C extends Channel> = z.input<Channels[C]['request']>
/** What main handlers receive (schema output, after validation). */
export type ParsedRequestOf<C extends Channel> = z.output<Channels[C]['request']>
export type ResponseOf<C extends Channel> =
  Channels[C]['response'] extends Returns<infer T> ? T : never
export type EventPayload<E extends EventName> = Events[E] extends Returns<infer T> ? T : never

export const channelNames = Object.keys(channels) as Channel[]
export const eventNames = Object.keys(events) as EventName[]

export function isChannel(name: unknown): name is Channel {
  return typeof name === 'string' && Object.prototype.hasOwnProperty.call(channels, name)
}

export function isEventName(name: unknown): name is EventName {
  return typeof name === 'string' && Object.prototype.hasOwnProperty.call(events, name)
}

/** Splits `namespace:method` at the first colon. */
export function splitName(name: string): [namespace: string, method: string] {
  const i = name.indexOf(':')
  return [name.slice(0, i), name.slice(i + 1)]
}

export * from './result'
