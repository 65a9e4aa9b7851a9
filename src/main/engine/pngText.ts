/**
 * Text metadata in PNG files. sharp 0.35 reads PNG text chunks (metadata().comments) but cannot
 * write them, so we insert iTXt chunks (UTF-8, uncompressed; PNG spec 11.3.4.5) into the encoded
 * buffer ourselves, right after IHDR.
 */

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

let crcTable: Uint32Array | null = null;

/** CRC-32 (ISO 3309 / PNG polynomial 0xEDB88320) over the chunk type and data. */
export function crc32(bytes: Uint8Array): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = crcTable[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

/** An iTXt chunk: keyword (Latin-1, 1-79 chars), no compression, empty language tags, UTF-8 text. */
export function itxtChunk(keyword: string, text: string): Uint8Array {
  if (!/^[\x20-\x7e]{1,79}$/.test(keyword) || keyword.startsWith(' ') || keyword.endsWith(' ')) {
    throw new Error(`invalid PNG text keyword '${keyword}'`);
  }
  const kw = new TextEncoder().encode(keyword);
  const body = new TextEncoder().encode(text);
  // keyword \0 compression-flag(0) compression-method(0) language-tag \0 translated-keyword \0 text
  const data = new Uint8Array(kw.length + 5 + body.length);
  data.set(kw, 0);
  data.set(body, kw.length + 5);
  return chunk('iTXt', data);
}

/** Returns a copy of `png` with one iTXt chunk per entry inserted after IHDR. */
export function addPngText(png: Uint8Array, entries: Record<string, string>): Uint8Array {
  for (let i = 0; i < 8; i++) if (png[i] !== SIGNATURE[i]) throw new Error('not a PNG buffer');
  const ihdrLen = new DataView(png.buffer, png.byteOffset).getUint32(8);
  const afterIhdr = 8 + 12 + ihdrLen;
  const chunks = Object.entries(entries).map(([k, v]) => itxtChunk(k, v));
  const extra = chunks.reduce((n, c) => n + c.length, 0);
  const out = new Uint8Array(png.length + extra);
  out.set(png.subarray(0, afterIhdr), 0);
  let o = afterIhdr;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  out.set(png.subarray(afterIhdr), o);
  return out;
}
