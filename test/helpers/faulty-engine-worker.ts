/**
 * The real engine worker (src/main/service/engine-host/worker-entry.ts) with a fault injected
 * after the first progress message of the second generation it runs (the first one completes),
 * for the crash tests in test/service-engine.test.ts, which start it through EngineClient's
 * `worker` option. DAAM_TEST_ENGINE_FAULT (read when the worker starts) picks the fault: 'exit'
 * ends the thread with code 3, 'throw' raises an uncaught error; unset, nothing happens.
 *
 * Faults happen in JavaScript between two U-Net calls, where a real one would surface (a bug,
 * a dependency calling exit). Stopping the thread while it is inside ONNX Runtime instead
 * (worker.terminate() mid-step) aborts the whole process: the binding throws a C++ exception
 * when it cannot hand its results to a terminating thread.
 */
import { parentPort } from 'node:worker_threads'
import '../../src/main/service/engine-host/worker-entry'

const fault = process.env['DAAM_TEST_ENGINE_FAULT']
const port = parentPort!
const post = port.postMessage.bind(port)
let generations = 0
port.postMessage = (
  message: { type?: string; progress?: { step: number } },
  transfer?: Parameters<typeof port.postMessage>[1],
) => {
  post(message, transfer)
  if (message.type !== 'progress' || message.progress?.step !== 1 || ++generations < 2) return
  if (fault === 'exit') process.exit(3)
  if (fault === 'throw')
    setImmediate(() => {
      throw new Error('injected engine fault')
    })
}
