/**
 * The one PNG writer: raw RGB or RGBA pixels to an RGB PNG carrying text metadata
 * (src/main/png-text.ts). Callers: the pipeline's generated image (RGB), every overlay file of
 * app-saves.ts and word-files.ts (composer output, RGBA with alpha always 255), and the grid
 * (grid.ts), which arrives already encoded.
 */
import sharp from 'sharp'
import { insertPngText } from '../png-text'

export async function encodeTextPng(
  pixels: Uint8Array | Uint8ClampedArray,
  width: number,
  height: number,
  channels: 3 | 4,
  text: Record<string, string>,
): Promise<Buffer> {
  const image = sharp(Buffer.from(pixels.buffer, pixels.byteOffset, pixels.byteLength), {
    raw: { width, height, channels },
  })
  // Overlays are opaque: an alpha channel would only double the file's size.
  const png = await (channels === 4 ? image.removeAlpha() : image).png().toBuffer()
  return Buffer.from(insertPngText(png, text))
}

/** Composer output (RGBA) to a PNG with text. */
export function encodeOverlayPng(
  rgba: Uint8Array | Uint8ClampedArray,
  width: number,
  height: number,
  text: Record<string, string>,
): Promise<Buffer> {
  return encodeTextPng(rgba, width, height, 4, text)
}
