/**
 * The engine worker's entry, started by EngineClient (client.ts) from the built bundle
 * (`out/main/engine-worker.js`) or from source (worker-path.ts). It sets ONNX Runtime up before
 * anything loads it in this thread, then loads the engine (engine-thread.ts). The engine comes
 * through a dynamic import because a bundler puts the `require` of every external package
 * (onnxruntime-node among them) above all inlined code: a static import would load ONNX Runtime
 * before the set-up.
 */
import { prepareOnnxRuntime } from './ort-setup'

prepareOnnxRuntime()
void import('./engine-thread')
