/**
 * The engine worker's first module: worker-entry.ts imports it before anything that loads
 * onnxruntime-node in this thread, so what is set here holds for every session the worker makes.
 *
 * ONNX Runtime telemetry must be off in the worker as in the rest of the app (issue 12 §2).
 * WIRE-TELEMETRY: call the platform helper's switch from src/main/engine here, once it exists.
 * This is the only place the worker needs it.
 */
export {}
