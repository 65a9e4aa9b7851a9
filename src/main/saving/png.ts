/**
 * The one writer of overlay PNGs: composer output (RGBA, alpha always 255) to an RGB PNG carrying
 * text metadata (src/main/png-text.ts). Callers: every overlay file of app-saves.ts and
 * word-files.ts, and the grid (grid.ts), which arrives already encoded.
 */
import sharp from 'sharp'
import { insertPngText } from '../png-text'

export async function encodeOverlayPng(
  rgba: Uint8Array | Uint8ClampedArray,
  width: number,
  height: number,
  text: Record<string, string>,
): Promise<Buffer> {
  const png = await sharp(Buffer.from(rgba.buffer, rgba.byteOffset, rgba.byteLength), {
    raw: { width, height, channels: 4 },
  })
    .removeAlpha()
    .png()
    .toBuffer()
  return insertPngText(png, text)
}
