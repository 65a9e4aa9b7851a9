/**
 * Adds text metadata to an encoded PNG (engine images and exported overlays). sharp 0.35 reads PNG text but writes no arbitrary text chunks, so we insert
 * iTXt chunks (UTF-8, uncompressed; PNG spec 11.3.4.5) right after IHDR. Readers that know PNG
 * text (exiftool, Pillow's `im.text`, browsers' metadata panels) show them as key/value pairs.
 */

const CRC_TABLE = (() => {
  const t = new Uint32Array(256)
  for (let n = 0; n < 256; n++) {
    let c = n
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
    t[n] = c >>> 0
  }
  return t
})()

export function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8)
  return (c ^ 0xffffffff) >>> 0
}

function chunk(type: string, data: Uint8Array): Buffer {
  const out = Buffer.alloc(12 + data.length)
  out.writeUInt32BE(data.length, 0)
  out.write(type, 4, 'latin1')
  out.set(data, 8)
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length)
  return out
}

export function insertPngText(png: Uint8Array, entries: Record<string, string>): Buffer {
  const sig = Buffer.from(png.subarray(0, 8))
  if (!sig.equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) throw new Error('not a PNG')
  const ihdrLen = Buffer.from(png.subarray(8, 12)).readUInt32BE(0)
  const afterIhdr = 8 + 12 + ihdrLen
  const chunks = Object.entries(entries).map(([key, value]) => {
    if (!/^[\x20-\x7e]{1,79}$/.test(key)) throw new Error(`invalid PNG text key ${JSON.stringify(key)}`)
    // keyword \0 compression-flag(0) method(0) language-tag \0 translated-keyword \0 text
    return chunk(
      'iTXt',
      Buffer.concat([Buffer.from(key, 'latin1'), Buffer.from([0, 0, 0, 0, 0]), Buffer.from(value, 'utf8')]),
    )
  })
  return Buffer.concat([png.subarray(0, afterIhdr), ...chunks, png.subarray(afterIhdr)])
}

/** Reads back iTXt/tEXt entries (tests, and re-opening an exported overlay). */
export function readPngText(png: Uint8Array): Record<string, string> {
  const buf = Buffer.from(png.buffer, png.byteOffset, png.byteLength)
  const out: Record<string, string> = {}
  let pos = 8
  while (pos + 12 <= buf.length) {
    const len = buf.readUInt32BE(pos)
    const type = buf.toString('latin1', pos + 4, pos + 8)
    const data = buf.subarray(pos + 8, pos + 8 + len)
    if (type === 'tEXt') {
      const z = data.indexOf(0)
      out[data.toString('latin1', 0, z)] = data.toString('latin1', z + 1)
    } else if (type === 'iTXt') {
      const z = data.indexOf(0)
      const key = data.toString('latin1', 0, z)
      let p = z + 3 // flag, method
      p = data.indexOf(0, p) + 1 // language tag
      p = data.indexOf(0, p) + 1 // translated keyword
      if (data[z + 1] === 0) out[key] = data.toString('utf8', p)
    }
    pos += 12 + len
  }
  return out
}
