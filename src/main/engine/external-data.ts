/**
 * External-data weights (`model.onnx_data`, `weights.pb`) read into memory and handed to ONNX
 * Runtime through the session option `externalData: [{ path, data }]` (onnxruntime-node 1.30).
 * Left to itself ORT memory-maps these files: truncating one while the model is loaded killed the
 * process (SIGBUS) and rewriting it in place gave silently wrong (black) images. ORT copies
 * in-memory external data into its own initializers (checked: changing the buffer after
 * creation changes nothing), so the JS copy is dropped once the session exists and whatever
 * happens to the file afterwards cannot reach the loaded model. Cost: the weights are in memory
 * twice while a session is created (the read copy and ORT's), instead of once (figures in
 * bench/memory-peaks.ts --external).
 * Callers: createSession in model.ts.
 */
import { readdirSync } from 'node:fs'
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path'
import { onnx } from 'onnx-proto'
import { lengthDelimited } from '../attention/onnx-scan'
import { readRegularBytes } from './modelFolder'

const MODEL_GRAPH = 7
const GRAPH_INITIALIZER = 5
const TENSOR_EXTERNAL_DATA = 13

/** Largest external-data file we read (an SDXL-sized U-Net in fp32 is about 10 GB). */
const MAX_EXTERNAL_BYTES = 64 * 1024 ** 3

/** The external-data files (their `location`s) the model's initializers name, without decoding any weight. */
export function externalDataLocations(model: Uint8Array): string[] {
  const found = new Set<string>()
  for (const [, graph] of lengthDelimited(model, new Set([MODEL_GRAPH]))) {
    for (const [, tensor] of lengthDelimited(graph, new Set([GRAPH_INITIALIZER]))) {
      for (const [, entry] of lengthDelimited(tensor, new Set([TENSOR_EXTERNAL_DATA]))) {
        const e = onnx.StringStringEntryProto.decode(entry)
        if (e.key === 'location' && e.value) found.add(e.value)
      }
    }
  }
  return [...found]
}

/**
 * True when the folder of `modelPath` holds anything besides the model and its config: only
 * then can the model have external data, and only then is the model file read to find out.
 */
export function mayHaveExternalData(modelPath: string): boolean {
  const own = new Set([basename(modelPath), 'config.json'])
  try {
    return readdirSync(dirname(modelPath)).some((n) => !own.has(n))
  } catch {
    return false
  }
}

/**
 * Reads each external-data file of `model` (relative to `baseDir`) into memory: regular files
 * inside the model's folder only. Throws with the file's path when one is missing or unusable.
 */
export function readExternalData(model: Uint8Array, baseDir: string): { path: string; data: Uint8Array }[] {
  return externalDataLocations(model).map((location) => {
    const full = resolve(baseDir, location)
    const rel = relative(baseDir, full)
    if (isAbsolute(location) || rel.startsWith('..') || isAbsolute(rel))
      throw new Error(`external data ${location} lies outside the model's folder ${baseDir}`)
    try {
      return { path: location, data: readRegularBytes(full, MAX_EXTERNAL_BYTES) }
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code
      throw new Error(
        code === 'ENOENT'
          ? `external weights file ${join(baseDir, location)} is missing`
          : `cannot read external weights file ${full}: ${(e as Error).message}`,
      )
    }
  })
}
