/**
 * What the engine worker sets up before ONNX Runtime loads in its thread (worker-entry.ts calls
 * it first). Today: ONNX Runtime's telemetry off (issue 12 §2; see src/main/engine/telemetry.ts).
 * The variable is process-wide, so the main thread has usually set it already; setting it here
 * too keeps the worker private even when it is started on its own (the e2e's plain-Node check).
 * Must not import onnxruntime-node itself (statically).
 */
import { disableOrtTelemetry } from '../../engine/telemetry'

export function prepareOnnxRuntime(): void {
  disableOrtTelemetry()
}
