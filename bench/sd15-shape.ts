/**
 * Builds (once) and caches the SD-1.5-shape pipeline with random weights that bench/sd15-scale.ts
 * measures, outside the repository (about 6 GB for both variants):
 *
 *   npx tsx bench/sd15-shape.ts [--dir /var/tmp/sd15-shape]      (also run by npm run bench:sd15)
 *
 * 1. `/usr/bin/python3 -m models.training.sd15_shape --out DIR/raw`: the project's own PyTorch
 *    modules at SD 1.5's exact shapes, exported with torch's TorchScript exporter. torch 1.13 writes
 *    a graph over 2 GB with one external file per tensor.
 * 2. DIR/fp32: the layout Optimum writes: the U-Net's weights gathered into one
 *    `unet/model.onnx_data` (each tensor at a 4096-byte-aligned offset, so ONNX Runtime can map
 *    it), text encoder and VAE decoder with their weights inside model.onnx.
 * 3. DIR/fp16: what `optimum-cli export onnx --fp16` gives: the whole graph in float16 (weights,
 *    inputs, outputs, constants, casts), except the inputs ONNX requires in float32 (Resize scales).
 *    Written here by rewriting the fp32 graphs, since fp16 tracing needs a GPU under torch 1.13.
 * 4. DIR/fp16-inline (only when asked for): the same with the U-Net's 1.7 GB of weights inside
 *    model.onnx, as single-file fp16 exports ship them (under protobuf's 2 GB limit).
 * Callers: bench/sd15-scale.ts (ensureSd15Shape).
 */
import { spawnSync } from 'node:child_process'
import {
  closeSync,
  cpSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { onnx } from 'onnx-proto'
import { float32ToFloat16 } from '../src/shared/float16'

const FLOAT = onnx.TensorProto.DataType.FLOAT
const FLOAT16 = onnx.TensorProto.DataType.FLOAT16
const EXTERNAL = onnx.TensorProto.DataLocation.EXTERNAL
const ALIGN = 4096
const COMPONENTS = ['text_encoder', 'unet', 'vae_decoder'] as const
export const DEFAULT_SD15_DIR = '/var/tmp/sd15-shape'
export type Sd15Variant = 'fp32' | 'fp16' | 'fp16-inline'

function externalEntry(t: onnx.ITensorProto, key: string): string | undefined {
  return t.externalData?.find((e) => e.key === key)?.value ?? undefined
}

/** The bytes of a tensor, wherever they are (rawData or an external file next to the model). */
function tensorBytes(t: onnx.ITensorProto, dir: string): Uint8Array {
  if (t.dataLocation !== EXTERNAL) {
    if (t.rawData && t.rawData.length) return t.rawData
    if (t.floatData && t.floatData.length) return new Uint8Array(Float32Array.from(t.floatData).buffer)
    return new Uint8Array(0)
  }
  const file = readFileSync(join(dir, externalEntry(t, 'location')!))
  const offset = Number(externalEntry(t, 'offset') ?? 0)
  const length = externalEntry(t, 'length')
  return file.subarray(offset, length === undefined ? undefined : offset + Number(length))
}

function toHalfBytes(bytes: Uint8Array): Uint8Array {
  const aligned = bytes.byteOffset % 4 === 0 ? bytes : new Uint8Array(bytes) // Float32Array needs 4-byte alignment
  const half = float32ToFloat16(new Float32Array(aligned.buffer, aligned.byteOffset, aligned.byteLength / 4))
  return new Uint8Array(half.buffer)
}

/** Float32 tensor attribute/constant -> float16, in place. */
function halveTensor(t: onnx.ITensorProto): void {
  if (t.dataType !== FLOAT) return
  const bytes = tensorBytes(t, '')
  t.rawData = toHalfBytes(bytes)
  t.floatData = []
  t.dataType = FLOAT16
}

/** Makes a model fully float16, as an fp16 export is: see the file header. */
function halveGraph(g: onnx.IGraphProto, keepFloat: ReadonlySet<string>): void {
  for (const v of [...(g.input ?? []), ...(g.output ?? [])]) {
    const tt = v.type?.tensorType
    if (tt && tt.elemType === FLOAT) tt.elemType = FLOAT16
  }
  g.valueInfo = [] // ONNX Runtime infers the types again
  for (const n of g.node ?? []) {
    if (n.opType === 'Constant' && keepFloat.has(n.output?.[0] ?? '')) continue
    for (const a of n.attribute ?? []) {
      if (a.t) halveTensor(a.t)
      if (n.opType === 'Cast' && a.name === 'to' && Number(a.i) === FLOAT) a.i = FLOAT16
    }
  }
}

/**
 * Writes `model` to `outDir/model.onnx`: initializers of at least `externalMin` bytes go to
 * `model.onnx_data` at aligned offsets; `half` converts float initializers to float16 on the way.
 */
function writeModel(model: onnx.ModelProto, srcDir: string, outDir: string, externalMin: number, half: boolean): void {
  mkdirSync(outDir, { recursive: true })
  const g = model.graph!
  const dataPath = join(outDir, 'model.onnx_data')
  let fd: number | null = null
  let offset = 0
  // Inputs ONNX types as float32 whatever the model's precision (Resize's scales).
  const keepFloat = new Set<string>()
  for (const n of g.node ?? []) if (n.opType === 'Resize' && n.input?.[2]) keepFloat.add(n.input[2])
  for (const t of g.initializer ?? []) {
    let bytes = tensorBytes(t, srcDir)
    if (half && t.dataType === FLOAT && !keepFloat.has(t.name ?? '')) {
      bytes = toHalfBytes(bytes)
      t.dataType = FLOAT16
    }
    t.floatData = []
    if (bytes.byteLength < externalMin) {
      t.rawData = bytes
      t.dataLocation = onnx.TensorProto.DataLocation.DEFAULT
      t.externalData = []
      continue
    }
    fd ??= openSync(dataPath, 'w')
    const pad = (ALIGN - (offset % ALIGN)) % ALIGN
    if (pad) writeSync(fd, new Uint8Array(pad), 0, pad, offset)
    offset += pad
    writeSync(fd, bytes, 0, bytes.byteLength, offset)
    t.rawData = new Uint8Array(0)
    t.dataLocation = EXTERNAL
    t.externalData = [
      { key: 'location', value: 'model.onnx_data' },
      { key: 'offset', value: String(offset) },
      { key: 'length', value: String(bytes.byteLength) },
    ]
    offset += bytes.byteLength
  }
  if (fd !== null) closeSync(fd)
  if (half) halveGraph(g, keepFloat)
  writeFileSync(join(outDir, 'model.onnx'), onnx.ModelProto.encode(model).finish())
}

function writeVariant(raw: string, out: string, half: boolean, inline: boolean): void {
  const tmp = `${out}.partial`
  rmSync(tmp, { recursive: true, force: true })
  mkdirSync(tmp, { recursive: true })
  for (const name of readdirSync(raw)) {
    if ((COMPONENTS as readonly string[]).includes(name)) continue
    cpSync(join(raw, name), join(tmp, name), { recursive: true })
  }
  for (const c of COMPONENTS) {
    const src = join(raw, c)
    const model = onnx.ModelProto.decode(readFileSync(join(src, 'model.onnx')))
    // Optimum's layout: only the U-Net (over 2 GB in fp32) keeps its weights outside model.onnx.
    writeModel(model, src, join(tmp, c), c === 'unet' && !inline ? 1024 : Infinity, half)
    const config = JSON.parse(readFileSync(join(src, 'config.json'), 'utf8')) as Record<string, unknown>
    if (half && 'torch_dtype' in config) config.torch_dtype = 'float16'
    writeFileSync(join(tmp, c, 'config.json'), JSON.stringify(config, null, 2) + '\n')
  }
  rmSync(out, { recursive: true, force: true })
  renameSync(tmp, out)
}

/** The cached pipeline folder of `variant`, built first when missing (minutes; see the header). */
export function ensureSd15Shape(variant: Sd15Variant, dir = DEFAULT_SD15_DIR): string {
  const out = join(dir, variant)
  if (existsSync(join(out, 'model_index.json'))) return out
  const raw = join(dir, 'raw')
  if (!existsSync(join(raw, 'model_index.json'))) {
    console.log(`building the SD-1.5-shape pipeline in ${raw} (PyTorch export, several minutes)...`)
    const r = spawnSync('/usr/bin/python3', ['-m', 'models.training.sd15_shape', '--out', raw], {
      cwd: resolve(__dirname, '..'),
      stdio: 'inherit',
    })
    if (r.status !== 0) throw new Error(`the export failed (${r.signal ?? r.status})`)
  }
  console.log(`writing the ${variant} variant to ${out}...`)
  writeVariant(raw, out, variant !== 'fp32', variant === 'fp16-inline')
  return out
}

if (require.main === module) {
  const { values } = parseArgs({ options: { dir: { type: 'string', default: DEFAULT_SD15_DIR } } })
  for (const v of ['fp32', 'fp16'] as const) console.log(ensureSd15Shape(v, values.dir))
}
