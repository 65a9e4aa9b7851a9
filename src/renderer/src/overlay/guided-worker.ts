/**
 * The image-guided precompute worker's entry (a module Web Worker, bundled by Vite from
 * guided-client.ts's `new Worker(new URL('./guided-worker.ts', import.meta.url))`). All it does
 * is in GuidedWorkerCore; this file only wires it to the worker's messages. The CSP allows it:
 * `worker-src 'self'` (src/main/app-protocol.ts).
 */
import type { GuidedRequest } from './guided-cache'
import { GuidedWorkerCore } from './guided-worker-core'

const core = new GuidedWorkerCore((result, transfer) => self.postMessage(result, { transfer }))

self.onmessage = (e: MessageEvent<GuidedRequest>) => {
  void core.receive(e.data)
}
