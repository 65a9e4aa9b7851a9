/**
 * The contact sheet of a folder export (grid.png): the image, then each word's overlay as the
 * composer drew it, with a caption strip under each tile. Caller: word-files.ts.
 */
import sharp, { type OverlayOptions } from 'sharp'
import { svgText } from './svg-text'

export interface GridTile {
  rgba: Uint8ClampedArray | Uint8Array
  channels: 3 | 4
  caption: string
}

/** PNG bytes (RGB, no text) of the tiles laid out `maxColumns` to a row. */
export async function renderGrid(
  tiles: readonly GridTile[],
  width: number,
  height: number,
  maxColumns = 4,
): Promise<Buffer> {
  const cols = Math.min(maxColumns, tiles.length)
  const rows = Math.ceil(tiles.length / cols)
  const captionH = Math.max(18, Math.round(height * 0.12))
  const fontSize = Math.round(captionH * 0.7)
  const composites: OverlayOptions[] = []
  for (let i = 0; i < tiles.length; i++) {
    const left = (i % cols) * width
    const top = Math.floor(i / cols) * (height + captionH)
    const t = tiles[i]!
    composites.push({
      input: Buffer.from(t.rgba.buffer, t.rgba.byteOffset, t.rgba.byteLength),
      raw: { width, height, channels: t.channels },
      left,
      top,
    })
    const svg =
      `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${captionH}">` +
      `<text x="${width / 2}" y="${Math.round(captionH * 0.75)}" font-family="sans-serif" font-size="${fontSize}" text-anchor="middle" fill="#111">${svgText(t.caption)}</text></svg>`
    composites.push({ input: Buffer.from(svg), left, top: top + height })
  }
  return sharp({
    create: { width: cols * width, height: rows * (height + captionH), channels: 3, background: '#ffffff' },
  })
    .composite(composites)
    .png()
    .toBuffer()
}
