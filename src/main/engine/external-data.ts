/**
 * External-data weights (`model.onnx_data`, `weights.pb`) are never used in place. ONNX Runtime
 * memory-maps them: truncating the user's file while the model was loaded killed the process
 * (SIGBUS) and rewriting it in place gave silently wrong (black) images. So ORT gets either
 * - a private copy: each file is cloned (copy-on-write where the file system can, else copied)
 *   into a temporary folder that ORT maps instead (session.model_external_initializers_file_folder_path);
 *   the folder is removed as soon as the session exists (the mapping keeps the data; on Windows,
 *   where mapped files cannot be removed, at exit). Memory stays at 1× the weights, as before;
 *   the copy costs time (512 MB of weights: 0.7 s instead of 0.1 s to create the session, when
 *   the file system cannot clone) and temporary disk space.
 * - or the bytes in memory, through the session option `externalData: [{ path, data }]`
 *   (onnxruntime-node 1.30): for small weights (up to MEMORY_MODE_MAX_BYTES), or when no copy can
 *   be written (full or read-only disk). ORT copies them (changing the buffer after creation
 *   changes nothing), so the read copy is dropped after creation; but the binding and ORT
 *   each hold a copy while the session is created: measured 3.2× the weights at peak
 *   (512 MB of weights: 1.65 GB, against 0.63 GB mapped).
 * Either way what happens to the user's file afterwards cannot reach the loaded model.
 * A model handed over as bytes whose weights are inline (a single-file U-Net under 2 GB, patched
 * by the attention hook) gets them written into the private folder too, from 256 MB: ORT then maps
 * them instead of parsing and copying them beside the JS buffer (measured on an SD-1.5-shape fp16
 * U-Net of 1.7 GB in one file: see README, bench:sd15).
 * Only regular files inside the model's folder are used. Callers: createSession in model.ts.
 */
import {
  closeSync,
  constants,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  rmSync,
  writeSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path'
import { onnx } from 'onnx-proto'
import { Writer } from 'protobufjs/minimal'
import {
  GRAPH_INITIALIZER,
  lengthDelimited,
  lengthField,
  MODEL_GRAPH,
  protoFields,
  TENSOR_EXTERNAL_DATA,
  WIRE_LEN,
  WIRE_VARINT,
} from '../attention/onnx-scan'
import { checkRegularFile, readRegularBytes } from './model-folder'

/** Largest external-data file we use (an SDXL-sized U-Net in fp32 is about 10 GB). */
const MAX_EXTERNAL_BYTES = 64 * 1024 ** 3
/** Up to this many bytes of external data go to ORT in memory; more get a private copy on disk. */
export const MEMORY_MODE_MAX_BYTES = 256 * 1024 ** 2

/** TensorProto fields (onnx.proto) the inline-weights rewrite reads and writes. */
const TENSOR_RAW_DATA = 9
const TENSOR_DATA_LOCATION = 14
/** Inline weights of a model given as bytes, from this many in all, go to a private file ORT maps. */
export const INLINE_EXTERNALIZE_MIN_BYTES = MEMORY_MODE_MAX_BYTES
/** Name of that file in the private folder (not a name exporters use). */
export const INLINE_WEIGHTS_FILE = 'daam-inline-weights.bin'
/** Tensors smaller than this stay inline (ORT maps whole pages; small constants are not worth a mapping). */
const INLINE_TENSOR_MIN_BYTES = 4096
const ALIGN = 4096

/** Bytes of initializer raw_data held inside the model (the weights of a single-file export). */
export function inlineWeightBytes(model: Uint8Array): number {
  let total = 0
  for (const [, graph] of lengthDelimited(model, new Set([MODEL_GRAPH]))) {
    for (const [, tensor] of lengthDelimited(graph, new Set([GRAPH_INITIALIZER]))) {
      for (const [, raw] of lengthDelimited(tensor, new Set([TENSOR_RAW_DATA]))) total += raw.byteLength
    }
  }
  return total
}

/**
 * The model with every initializer's raw_data of at least `minTensorBytes` moved into the file
 * `fd` (named `location` to ORT), at 4096-byte-aligned offsets so that ORT maps it; the rest of
 * the model is copied field by field, never decoded.
 */
export function externalizeInlineWeights(
  model: Uint8Array,
  fd: number,
  location: string,
  minTensorBytes = INLINE_TENSOR_MIN_BYTES,
): Uint8Array {
  let offset = 0
  const entry = (key: string, value: string) =>
    lengthField(TENSOR_EXTERNAL_DATA, onnx.StringStringEntryProto.encode({ key, value }).finish())
  const tensorOut = (tensor: Uint8Array): Uint8Array => {
    const fields = [...protoFields(tensor)]
    const raw = fields.find((f) => f.field === TENSOR_RAW_DATA && f.wire === WIRE_LEN)
    if (!raw || raw.body.byteLength < minTensorBytes) return tensor
    offset += (ALIGN - (offset % ALIGN)) % ALIGN
    for (let done = 0; done < raw.body.byteLength;)
      done += writeSync(fd, raw.body, done, raw.body.byteLength - done, offset + done)
    const kept = fields.filter((f) => f.field !== TENSOR_RAW_DATA && f.field !== TENSOR_DATA_LOCATION).map((f) => f.raw)
    const location_ = Writer.create()
      .uint32((TENSOR_DATA_LOCATION << 3) | WIRE_VARINT)
      .uint32(onnx.TensorProto.DataLocation.EXTERNAL)
      .finish()
    const out = Buffer.concat([
      ...kept,
      entry('location', location),
      entry('offset', String(offset)),
      entry('length', String(raw.body.byteLength)),
      location_,
    ])
    offset += raw.body.byteLength
    return out
  }
  const parts: Uint8Array[] = []
  for (const f of protoFields(model)) {
    if (f.field !== MODEL_GRAPH || f.wire !== WIRE_LEN) {
      parts.push(f.raw)
      continue
    }
    const graph: Uint8Array[] = []
    for (const g of protoFields(f.body))
      graph.push(g.field === GRAPH_INITIALIZER && g.wire === WIRE_LEN ? lengthField(g.field, tensorOut(g.body)) : g.raw)
    parts.push(lengthField(MODEL_GRAPH, Buffer.concat(graph)))
  }
  return Buffer.concat(parts)
}

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

/** What to merge into the session options, and what to do once the session exists. */
export interface PreparedExternalData {
  /** The model to create the session from: the given one, or it without its inline weights (see prepareExternalData). */
  model: Uint8Array
  /** Folder ORT resolves external data against (the private copy, or the model's own folder). */
  folder: string
  /** In-memory external data for the session option `externalData`; empty in copy mode. */
  externalData: { path: string; data: Uint8Array }[]
  /** Removes the private copy; call when the session exists or failed. */
  done(): void
}

/** The file a location names, checked: inside the model's folder, a regular file. */
function sourceOf(location: string, baseDir: string): { full: string; size: number } {
  const full = resolve(baseDir, location)
  const rel = relative(baseDir, full)
  if (isAbsolute(location) || rel.startsWith('..') || isAbsolute(rel))
    throw new Error(`external data ${location} lies outside the model's folder ${baseDir}`)
  try {
    return { full, size: checkRegularFile(full, MAX_EXTERNAL_BYTES) }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT')
      throw new Error(`external weights file ${join(baseDir, location)} is missing`)
    throw new Error(`cannot use external weights file ${full}: ${(e as Error).message}`)
  }
}

const pendingRemoval = new Set<string>()
let exitHook = false

function removeLater(dir: string): void {
  try {
    rmSync(dir, { recursive: true, force: true })
  } catch {
    // Windows: a mapped file cannot be removed while the session lives; try again at exit.
    pendingRemoval.add(dir)
    if (!exitHook) {
      exitHook = true
      process.once('exit', () => pendingRemoval.forEach((d) => rmSync(d, { recursive: true, force: true })))
    }
  }
}

/**
 * Prepares the external data of `model` (whose own folder is `baseDir`) so that ORT never maps
 * the user's files. `mode` forces one strategy (tests); by default weights up to `memoryMaxBytes`
 * go in memory and larger ones are copied, falling back to memory when no copy can be written.
 */
export function prepareExternalData(
  model: Uint8Array,
  baseDir: string,
  options: { mode?: 'copy' | 'memory'; tempRoot?: string; memoryMaxBytes?: number; inlineMinBytes?: number } = {},
): PreparedExternalData {
  const sources = externalDataLocations(model).map((location) => ({ location, ...sourceOf(location, baseDir) }))
  // Weights inside a model given as bytes (a single-file U-Net the hook patched): ORT would parse
  // and copy them next to the JS buffer; written to the private folder, ORT maps them instead.
  const inline = options.mode === 'memory' ? 0 : inlineWeightBytes(model)
  const externalize = inline > 0 && inline >= (options.inlineMinBytes ?? INLINE_EXTERNALIZE_MIN_BYTES)
  const none: PreparedExternalData = { model, folder: baseDir, externalData: [], done: () => {} }
  if (sources.length === 0 && !externalize) return none
  const total = sources.reduce((a, s) => a + s.size, 0)
  const mode =
    options.mode ?? (!externalize && total <= (options.memoryMaxBytes ?? MEMORY_MODE_MAX_BYTES) ? 'memory' : 'copy')
  if (mode === 'copy') {
    let dir: string | null = null
    try {
      dir = mkdtempSync(join(options.tempRoot ?? tmpdir(), 'daam-weights-'))
      for (const s of sources) {
        const target = join(dir, s.location)
        mkdirSync(dirname(target), { recursive: true })
        // A clone shares blocks until either side is written (btrfs, XFS, APFS, ReFS): instant and free.
        copyFileSync(s.full, target, constants.COPYFILE_FICLONE)
      }
      let rewritten = model
      if (externalize) {
        const fd = openSync(join(dir, INLINE_WEIGHTS_FILE), 'wx')
        try {
          rewritten = externalizeInlineWeights(model, fd, INLINE_WEIGHTS_FILE)
        } finally {
          closeSync(fd)
        }
      }
      const copy = dir
      return { model: rewritten, folder: copy, externalData: [], done: () => removeLater(copy) }
    } catch {
      if (dir) rmSync(dir, { recursive: true, force: true })
      if (options.mode === 'copy') throw new Error(`cannot copy the external weights of ${baseDir}`)
      // no room for a copy: fall back to memory (inline weights stay inline)
    }
  }
  if (sources.length === 0) return none
  const externalData = sources.map((s) => ({ path: s.location, data: readRegularBytes(s.full, MAX_EXTERNAL_BYTES) }))
  return { model, folder: baseDir, externalData, done: () => externalData.splice(0) }
}
