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

/** Longest message a refusal (invalid-request, unknown-channel, forbidden-sender) carries, whatever the caller sent. */
export const MAX_ERROR_MESSAGE_CHARS = 1000
/** Longest quote of caller-supplied text in a message: one schema issue (it may quote a key), a channel name, a URL. */
const MAX_ISSUE_CHARS = 200

function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text
}

/** zod's readable summary of a refused payload, bounded: a 100 kB key must not come back as a 100 kB message. */
function describeIssues(channel: string, error: z.ZodError): string {
  const issues = error.issues.map((issue) => ({
    ...issue,
    message: clip(issue.message, MAX_ISSUE_CHARS),
    path: issue.path.map((p) => (typeof p === 'string' ? clip(p, MAX_ISSUE_CHARS) : p)),
  }))
  return clip(`${channel}: ${z.prettifyError(new z.ZodError(issues))}`, MAX_ERROR_MESSAGE_CHARS)
}

export type Dispatch = (channel: string, payload: unknown, sender: SenderInfo) => Promise<Result<unknown>>

export interface DispatcherOptions {
  isTrustedSender: SenderCheck
  /** Called with unexpected (non-AppError) failures, e.g. for logging. */
  onInternalError?: (channel: string, error: unknown) => void
}

export function createDispatcher(handlers: Handlers, options: DispatcherOptions): Dispatch {
  return async (channel, payload, sender) => {
    if (!isChannel(channel)) {
      const name = typeof channel === 'string' ? clip(channel, MAX_ISSUE_CHARS) : `(a ${typeof channel})`
      return fail('unknown-channel', `Unknown channel: ${name}`)
    }
    if (!options.isTrustedSender(sender)) {
      const from = sender.url === undefined ? '(no frame)' : clip(sender.url, MAX_ISSUE_CHARS)
      return fail('forbidden-sender', `Refused ${channel} from untrusted sender ${from}`)
    }
    const parsed = channels[channel].request.safeParse(payload)
    if (!parsed.success) return fail('invalid-request', describeIssues(channel, parsed.error))
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
