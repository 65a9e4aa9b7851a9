/**
 * ONNX Runtime's set-up in the engine worker: worker-entry.ts calls it before anything in this
 * thread loads onnxruntime-node, so what it sets holds for every session the worker makes. It
 * must not import onnxruntime-node itself (statically).
 */
export function prepareOnnxRuntime(): void {
  // WIRE-TELEMETRY: ONNX Runtime's telemetry must be off in the worker as in the rest of the app
  // (issue 12 §2). Call the platform helper's switch from src/main/engine here once it exists;
  // this is the only place the worker needs it.
}
