/**
 * An image the user already has, brought to a size the model supports: the checks (format, size,
 * content) with messages for people, and the centre crop to the model's aspect, then the resize.
 * Callers: src/main/attention/attribute.ts (attributing an existing image: the CLI
 * scripts/attribute.ts and the evaluation bench/attribution-eval.ts).
 *
 * Memory: the header is read first (sharp's metadata does not decode pixels) and an image over
 * MAX_INPUT_PIXELS is refused before any decode; sharp's limitInputPixels guards the decode too.
 * JPEG and WebP are shrunk on load by sharp when much larger than the target.
 */
import sharp, { type Metadata } from 'sharp'

/** 64 megapixels: an 8000x8000 photo fits; 20000x20000 (400 MP, 1.6 GB as RGBA) is refused. */
export const MAX_INPUT_PIXELS = 64_000_000
/** Below this side an image carries no picture to attribute. */
export const MIN_INPUT_SIDE = 16
const FORMATS = new Set(['png', 'jpeg', 'webp'])

export class ImageInputError extends Error {
  readonly code = 'invalid-image'
}

export interface FittedImage {
  /** Interleaved RGB at width x height (alpha flattened onto white). */
  rgb: Uint8Array
  width: number
  height: number
  source: { width: number; height: number; format: string; hasAlpha: boolean }
  /** The part of the source kept, in source pixels (the centre crop to the target's aspect). */
  crop: { left: number; top: number; width: number; height: number }
}

/** The format a file's first bytes announce (PNG, JPEG, WebP), or null. */
function signature(b: Uint8Array): string | null {
  if (b.length >= 8 && b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47) return 'PNG'
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'JPEG'
  const ascii = (o: number, n: number): string => String.fromCharCode(...b.subarray(o, o + n))
  if (b.length >= 12 && ascii(0, 4) === 'RIFF' && ascii(8, 4) === 'WEBP') return 'WebP'
  return null
}

/** The centre crop of a w x h image to the aspect of tw x th. */
export function centreCrop(w: number, h: number, tw: number, th: number): FittedImage['crop'] {
  if (w * th > h * tw) {
    const cw = Math.max(1, Math.round((h * tw) / th))
    return { left: Math.floor((w - cw) / 2), top: 0, width: cw, height: h }
  }
  const ch = Math.max(1, Math.round((w * th) / tw))
  return { left: 0, top: Math.floor((h - ch) / 2), width: w, height: ch }
}

/** Reads PNG/JPEG/WebP bytes and fits them to width x height (crop, then resize). */
export async function fitImage(bytes: Uint8Array, width: number, height: number): Promise<FittedImage> {
  let meta: Metadata
  try {
    meta = await sharp(bytes, { limitInputPixels: false }).metadata()
  } catch {
    const kind = signature(bytes)
    throw new ImageInputError(
      kind
        ? `This ${kind} file is damaged or truncated: its header cannot be read.`
        : 'This file is not a readable image: open a PNG, JPEG or WebP file.',
    )
  }
  if (!meta.format || !FORMATS.has(meta.format))
    throw new ImageInputError(
      `${String(meta.format ?? 'This').toUpperCase()} images are not supported: open a PNG, JPEG or WebP file.`,
    )
  const w = meta.width ?? 0
  const h = meta.pageHeight ?? meta.height ?? 0
  if (w < MIN_INPUT_SIDE || h < MIN_INPUT_SIDE)
    throw new ImageInputError(
      `This image is ${w}×${h} pixels: too small to attribute (at least ${MIN_INPUT_SIDE} pixels a side).`,
    )
  if (w * h > MAX_INPUT_PIXELS)
    throw new ImageInputError(
      `This image is ${w}×${h} pixels (${Math.round((w * h) / 1e6)} megapixels): too large to open (at most ${MAX_INPUT_PIXELS / 1e6} megapixels). Downscale it first.`,
    )
  const crop = centreCrop(w, h, width, height)
  let rgb: Buffer
  try {
    rgb = await sharp(bytes, { limitInputPixels: MAX_INPUT_PIXELS, page: 0, pages: 1 })
      .extract(crop)
      .resize(width, height, { fit: 'fill', kernel: 'lanczos3' })
      .flatten({ background: '#ffffff' })
      .removeAlpha()
      .toColourspace('srgb')
      .raw()
      .toBuffer()
  } catch (error) {
    throw new ImageInputError(
      `This image could not be decoded (${error instanceof Error ? error.message : String(error)}): it may be damaged or truncated.`,
    )
  }
  if (rgb.length !== width * height * 3) throw new ImageInputError('This image could not be decoded to RGB.')
  return {
    rgb: new Uint8Array(rgb.buffer, rgb.byteOffset, rgb.byteLength),
    width,
    height,
    source: { width: w, height: h, format: meta.format, hasAlpha: !!meta.hasAlpha },
    crop,
  }
}
