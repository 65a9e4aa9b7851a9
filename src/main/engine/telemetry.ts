/**
 * ONNX Runtime telemetry off. An offline, private tool must not record or send usage events.
 *
 * What onnxruntime-node 1.30 offers, checked in its package and native binaries:
 * - Linux/macOS builds carry a 1DS event collector that writes an event database and a persistent
 *   device id under `$XDG_CACHE_HOME` or `~/.cache/Microsoft/DeveloperTools/.onnxruntime/`
 *   (`onnxruntime.db`, `deviceid`) and may upload them. It reads the environment variable
 *   `ORT_DISABLE_TELEMETRY` when ONNX Runtime's environment is created, i.e. at the first
 *   `InferenceSession.create` (the binding's `initOrtOnce`), not when the .node file is loaded;
 *   with it set, neither file is created (test: telemetry.test.ts). (It also stays off by itself
 *   when CI, TF_BUILD or GITHUB_ACTIONS is set, which no user's desktop has.)
 * - The C API's `DisableTelemetryEvents(env)` (the Windows ETW provider's switch) is not exposed
 *   by the Node binding (it exports only InferenceSession, listSupportedBackends, initOrtOnce);
 *   `ort.env` has no telemetry flag and no session option controls it. The environment variable
 *   is therefore the only means; it is set process-wide, so worker threads inherit it.
 *
 * Callers: this module disables telemetry when it is first imported; engine/model.ts imports it
 * before onnxruntime-node (every session of the app, the engine worker, CLI, benches and tests
 * goes through model.ts), the Electron main entry calls it first thing, scripts/benches that
 * create sessions directly call it, and vitest runs it as a setup file (test/setup.ts).
 */

/** The variable ONNX Runtime's telemetry reads (onnxruntime/core/platform/posix/telemetry). */
export const ORT_TELEMETRY_ENV = 'ORT_DISABLE_TELEMETRY'

/** Turns ONNX Runtime's telemetry off for this process and its children. Idempotent. */
export function disableOrtTelemetry(env: NodeJS.ProcessEnv = process.env): void {
  env[ORT_TELEMETRY_ENV] = '1'
}

disableOrtTelemetry()
