/**
 * Vitest setup file (vitest.config.ts `setupFiles`), run in every test worker before its tests:
 * ONNX Runtime's telemetry off even for tests that create sessions without the engine.
 */
import { disableOrtTelemetry } from '../src/main/engine/telemetry'

disableOrtTelemetry()
