/**
 * Transport-agnostic request dispatch: validate the sender and the payload,
 * call the handler, wrap the outcome in a `Result`. Electron's ipcMain
 * registration and the Chromium e2e bindings both go through `createDispatcher`.
 */
import { z } from 'zod'
import {
  AppError,
  channels,
  eventNames,
  fail,
  isChannel,
  ok,
  type EventName,
  type Result,
} from '../../shared/ipc/contract'
import type { Handlers } from '../service/handlers'
import type { ServiceEvents } from '../service/events'
import type { SenderCheck, SenderInfo } from './trust'

export type Dispatch = (channel: string, payload: unknown, sender: SenderInfo) => Promise<Result<unknown>>

export interface DispatcherOptions {
  isTrustedSender: SenderCheck
  /** Called with unexpected (non-AppError) failures, e.g. for logging. */
  onInternalError?: (channel: string, error: unknown) => void
}

export function createDispatcher(handlers: Handlers, options: DispatcherOptions): Dispatch {
  return async (channel, payload, sender) => {
    if (!isChannel(channel)) return fail('unknown-channel', `Unknown channel: ${String(channel)}`)
    if (!options.isTrustedSender(sender)) {
      return fail('forbidden-sender', `Refused ${channel} from untrusted sender ${sender.url ?? '(no frame)'}`)
    }
    const parsed = channels[channel].request.safeParse(payload)
    if (!parsed.success) return fail('invalid-request', `${channel}: ${z.prettifyError(parsed.error)}`)
    const handler = handlers[channel] as (request: unknown, context: { senderUrl: string }) => unknown
    try {
      return ok(await handler(parsed.data, { senderUrl: sender.url ?? '' }))
    } catch (error) {
      if (error instanceof AppError) return fail(error.code, error.message)
      options.onInternalError?.(channel, error)
      const message = error instanceof Error ? error.message : String(error)
      return fail('internal', message)
    }
  }
}

/**
 * Forwards every contract event emitted by the service to `send`.
 * Returns a function that stops forwarding.
 */
export function forwardEvents(events: ServiceEvents, send: (event: EventName, payload: unknown) => void): () => void {
  const known = new Set<string>(eventNames)
  return events.onAny((event, payload) => {
    if (known.has(event)) send(event, payload)
  })
}
