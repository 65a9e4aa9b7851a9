/**
 * NumPy `.npy` reading and writing (format versions 1.0, 2.0 and 3.0), C order only; float16
 * arrays decode through ./float16.
 *
 * Pure: works on byte arrays, no file I/O, so the renderer and the main process can both use it.
 */

import { float16ToFloat32 } from './float16'

export type NpyDtype = 'float32' | 'float64' | 'float16' | 'int64' | 'int32' | 'int16' | 'int8' | 'uint8' | 'bool'

export type NpyData =
  | Float32Array
  | Float64Array
  | Uint16Array // float16 bit patterns
  | BigInt64Array
  | Int32Array
  | Int16Array
  | Int8Array
  | Uint8Array

export interface NpyArray {
  dtype: NpyDtype
  shape: number[]
  data: NpyData
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59] // "\x93NUMPY"

/** descr string (little-endian) for each dtype; '|' marks one-byte types where order is moot. */
const DESCR: Record<NpyDtype, string> = {
  float32: '<f4',
  float64: '<f8',
  float16: '<f2',
  int64: '<i8',
  int32: '<i4',
  int16: '<i2',
  int8: '|i1',
  uint8: '|u1',
  bool: '|b1',
}

const BYTES: Record<NpyDtype, number> = {
  float32: 4,
  float64: 8,
  float16: 2,
  int64: 8,
  int32: 4,
  int16: 2,
  int8: 1,
  uint8: 1,
  bool: 1,
}

function dtypeFromDescr(descr: string): NpyDtype {
  if (descr.startsWith('>')) {
    throw new Error(`npy: big-endian arrays are not supported (descr '${descr}')`)
  }
  const key = descr.replace(/^[<|=]/, '')
  const map: Record<string, NpyDtype> = {
    f4: 'float32',
    f8: 'float64',
    f2: 'float16',
    i8: 'int64',
    i4: 'int32',
    i2: 'int16',
    i1: 'int8',
    u1: 'uint8',
    b1: 'bool',
  }
  const dtype = map[key]
  if (!dtype) throw new Error(`npy: unsupported dtype descr '${descr}'`)
  return dtype
}

/** Parses the Python-dict header written by numpy, e.g. {'descr': '<f4', 'fortran_order': False, 'shape': (1, 4), } */
function parseHeader(header: string): { descr: string; fortran: boolean; shape: number[] } {
  const descr = /'descr':\s*'([^']+)'/.exec(header)
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)
  const shape = /'shape':\s*\(([^)]*)\)/.exec(header)
  if (!descr || !fortran || !shape) throw new Error(`npy: malformed header ${JSON.stringify(header)}`)
  const dims = shape[1]
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map((s) => {
      const n = Number(s.replace(/L$/, ''))
      if (!Number.isInteger(n) || n < 0) throw new Error(`npy: bad shape entry '${s}'`)
      return n
    })
  return { descr: descr[1], fortran: fortran[1] === 'True', shape: dims }
}

/** Reads an `.npy` byte array. The returned data is a copy (aligned), so the input may be reused. */
export function readNpy(bytes: Uint8Array): NpyArray {
  for (let i = 0; i < MAGIC.length; i++) {
    if (bytes[i] !== MAGIC[i]) throw new Error('npy: not a .npy file (bad magic)')
  }
  const major = bytes[6]
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  let headerLen: number
  let headerStart: number
  if (major === 1) {
    headerLen = view.getUint16(8, true)
    headerStart = 10
  } else if (major === 2 || major === 3) {
    headerLen = view.getUint32(8, true)
    headerStart = 12
  } else {
    throw new Error(`npy: unsupported format version ${major}`)
  }
  const header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(
    bytes.subarray(headerStart, headerStart + headerLen),
  )
  const { descr, fortran, shape } = parseHeader(header)
  if (fortran) throw new Error('npy: Fortran-ordered arrays are not supported')
  const dtype = dtypeFromDescr(descr)
  const count = shape.reduce((a, b) => a * b, 1)
  const start = headerStart + headerLen
  const nbytes = count * BYTES[dtype]
  if (bytes.byteLength - start < nbytes) {
    throw new Error(
      `npy: truncated data: need ${nbytes} bytes for shape [${shape.join(', ')}], have ${bytes.byteLength - start}`,
    )
  }
  // Copy into a fresh, aligned ArrayBuffer so typed views are always legal. (Not bytes.slice():
  // on a Node Buffer that shares the pooled memory instead of copying.)
  const copy = new Uint8Array(nbytes)
  copy.set(bytes.subarray(start, start + nbytes))
  return { dtype, shape, data: makeView(dtype, copy.buffer) }
}

function makeView(dtype: NpyDtype, buf: ArrayBuffer): NpyData {
  switch (dtype) {
    case 'float32':
      return new Float32Array(buf)
    case 'float64':
      return new Float64Array(buf)
    case 'float16':
      return new Uint16Array(buf)
    case 'int64':
      return new BigInt64Array(buf)
    case 'int32':
      return new Int32Array(buf)
    case 'int16':
      return new Int16Array(buf)
    case 'int8':
      return new Int8Array(buf)
    case 'uint8':
    case 'bool':
      return new Uint8Array(buf)
  }
}

function dtypeOfData(data: NpyData): NpyDtype {
  if (data instanceof Float32Array) return 'float32'
  if (data instanceof Float64Array) return 'float64'
  if (data instanceof Uint16Array) return 'float16'
  if (data instanceof BigInt64Array) return 'int64'
  if (data instanceof Int32Array) return 'int32'
  if (data instanceof Int16Array) return 'int16'
  if (data instanceof Int8Array) return 'int8'
  return 'uint8'
}

/**
 * Writes an `.npy` (version 1.0) byte array. A Uint16Array is written as float16 bit patterns;
 * pass `dtype: 'bool'` to mark a Uint8Array as booleans.
 */
export function writeNpy(data: NpyData, shape: readonly number[], dtype: NpyDtype = dtypeOfData(data)): Uint8Array {
  const count = shape.reduce((a, b) => a * b, 1)
  if (count !== data.length) {
    throw new Error(`npy: shape [${shape.join(', ')}] holds ${count} values but data has ${data.length}`)
  }
  if (BYTES[dtype] !== data.BYTES_PER_ELEMENT) {
    throw new Error(`npy: dtype ${dtype} does not match a ${data.constructor.name}`)
  }
  const shapeStr = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`
  let header = `{'descr': '${DESCR[dtype]}', 'fortran_order': False, 'shape': ${shapeStr}, }`
  // Pad so that magic(6)+version(2)+len(2)+header+'\n' is a multiple of 64, as numpy does.
  const total = 10 + header.length + 1
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n'
  if (header.length > 0xffff) throw new Error('npy: header too long for format 1.0')
  const out = new Uint8Array(10 + header.length + data.byteLength)
  out.set(MAGIC, 0)
  out[6] = 1
  out[7] = 0
  new DataView(out.buffer).setUint16(8, header.length, true)
  for (let i = 0; i < header.length; i++) out[10 + i] = header.charCodeAt(i)
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), 10 + header.length)
  return out
}

/** Converts any numeric npy array to float32 (float16 bit patterns are decoded). */
export function npyToFloat32(arr: NpyArray): Float32Array {
  const { data, dtype } = arr
  if (data instanceof Float32Array) return data
  if (dtype === 'float16') return float16ToFloat32(data as Uint16Array)
  const out = new Float32Array(data.length)
  for (let i = 0; i < data.length; i++) out[i] = Number(data[i])
  return out
}
