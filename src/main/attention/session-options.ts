import type { InferenceSession } from 'onnxruntime-node'

/**
 * A patched U-Net is handed to ONNX Runtime as a buffer, so ORT cannot resolve external data
 * (`model.onnx_data`, `weights.pb`) relative to a file path. ORT's session config key
 * `session.model_external_initializers_file_folder_path` tells it where to look; onnxruntime-node
 * 1.30 forwards `extra.session.*` entries (tested in test/attention/surgery.test.ts). Merge these
 * options into the engine's own session options.
 */
export function externalDataOptions(modelFolder: string): InferenceSession.SessionOptions {
  return { extra: { session: { model_external_initializers_file_folder_path: modelFolder } } }
}
