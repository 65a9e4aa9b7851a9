import { EventEmitter } from 'node:events'
import type { EventName, EventPayload } from '../../shared/ipc/contract'

type AnyListener = (event: EventName, payload: unknown) => void

/**
 * Typed emitter for main-to-renderer events declared in the contract's `events`
 * table. Transports subscribe with `onAny` and forward every event.
 */
export class ServiceEvents {
  private readonly emitter = new EventEmitter()

  constructor() {
    // Many windows/tests may subscribe; do not warn at the default of 10.
    this.emitter.setMaxListeners(0)
  }

  emit<E extends EventName>(event: E, payload: EventPayload<E>): void {
    this.emitter.emit(event, payload)
    this.emitter.emit('*', event, payload)
  }

  on<E extends EventName>(event: E, listener: (payload: EventPayload<E>) => void): () => void {
    this.emitter.on(event, listener)
    return () => this.emitter.off(event, listener)
  }

  once<E extends EventName>(event: E): Promise<EventPayload<E>> {
    return new Promise((resolve) => this.emitter.once(event, resolve))
  }

  onAny(listener: AnyListener): () => void {
    this.emitter.on('*', listener)
    return () => this.emitter.off('*', listener)
  }
}
