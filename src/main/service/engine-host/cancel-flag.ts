/**
 * The engine worker's cancel switch: one Int32 in a SharedArrayBuffer that the service's thread
 * sets (EngineClient.cancel) and the worker's pipeline reads before every U-Net call
 * (engine-thread.ts hands `signal()` to the generation runner).
 *
 * Why not a 'cancel' message: while a generation runs, the worker's thread sits in ONNX Runtime's
 * synchronous `run`, and the few event-loop turns between two calls may come after the pipeline's
 * abort check, so a posted message would be read at best one U-Net call late. A shared flag is
 * read at the check itself, whatever the event loop does.
 */
export class CancelFlag {
  private readonly cell: Int32Array

  /** A new flag, or a view of one made on the other side of a worker boundary. */
  constructor(readonly buffer: SharedArrayBuffer = new SharedArrayBuffer(4)) {
    this.cell = new Int32Array(buffer, 0, 1)
  }

  set(): void {
    Atomics.store(this.cell, 0, 1)
  }

  clear(): void {
    Atomics.store(this.cell, 0, 0)
  }

  get isSet(): boolean {
    return Atomics.load(this.cell, 0) === 1
  }

  /**
   * An AbortSignal whose `aborted` reads the flag at each access. The pipeline only reads
   * `signal.aborted` (before each U-Net call and before decoding); abort events and
   * `throwIfAborted` are not wired, since nothing could dispatch them while ONNX Runtime holds
   * the thread.
   */
  signal(): AbortSignal {
    const signal = new AbortController().signal
    Object.defineProperty(signal, 'aborted', { get: () => this.isSet, configurable: true })
    return signal
  }
}
