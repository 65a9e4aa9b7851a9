import { Worker } from 'node:worker_threads'
import { describe, expect, it } from 'vitest'
import { CancelFlag } from './cancel-flag'

describe('CancelFlag', () => {
  it('reads set and clear through its signal', () => {
    const flag = new CancelFlag()
    const signal = flag.signal()
    expect(signal).toBeInstanceOf(AbortSignal)
    expect(signal.aborted).toBe(false)
    flag.set()
    expect(signal.aborted).toBe(true)
    flag.clear()
    expect(signal.aborted).toBe(false)
  })

  it('shares one flag across the threads that hold its buffer', () => {
    const here = new CancelFlag()
    const there = new CancelFlag(here.buffer)
    here.set()
    expect(there.signal().aborted).toBe(true)
  })

  it('is seen by a thread that never returns to its event loop (as one held by ONNX Runtime)', async () => {
    const flag = new CancelFlag()
    // The worker spins on the flag's memory; only a store from this thread can end its loop.
    const worker = new Worker(
      `const { parentPort, workerData } = require('node:worker_threads')
       const cell = new Int32Array(workerData)
       parentPort.postMessage('spinning')
       const t0 = Date.now()
       while (Atomics.load(cell, 0) !== 1 && Date.now() - t0 < 10000) {}
       parentPort.postMessage(Atomics.load(cell, 0) === 1 ? 'saw it' : 'timed out')`,
      { eval: true, workerData: flag.buffer },
    )
    const messages: unknown[] = []
    const done = new Promise<void>((resolve) =>
      worker.on('message', (m) => {
        messages.push(m)
        if (m === 'spinning') flag.set()
        else resolve()
      }),
    )
    await done
    await worker.terminate()
    expect(messages).toEqual(['spinning', 'saw it'])
  })
})
