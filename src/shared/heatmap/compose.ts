/**
 * Pixel composition of heat maps over the generated image. Pure and shared: the renderer's
 * canvas and the exported PNGs call the same functions, so what the user sees is what is saved.
 * Images are RGB (3 channels) or RGBA (4) bytes; results are RGBA (canvas ImageData layout).
 */

export interface ImageBytes {
  data: Uint8Array | Uint8ClampedArray
  width: number
  height: number
  channels: 3 | 4
}

function checkSize(img: ImageBytes, n: number): void {
  if (img.width * img.height !== n) throw new Error(`map has ${n} pixels, image ${img.width}x${img.height}`)
  if (img.data.length < n * img.channels) throw new Error('image buffer too small')
}

/**
 * image*(1-opacity) + colormap(value)*opacity, the DAAM overlay. `lut` is a 256x3 table. The map
 * is either bytes (colour-map indices, from Heatmaps.wordBytes) or floats in [0, 1], rounded to
 * the same indices.
 */
export function overlayHeatmap(
  img: ImageBytes,
  map: Float32Array | Uint8ClampedArray,
  lut: Uint8Array,
  opacity = 0.5,
  out = new Uint8ClampedArray(map.length * 4),
): Uint8ClampedArray {
  checkSize(img, map.length)
  const a = Math.min(1, Math.max(0, opacity))
  const b = 1 - a
  const src = img.data
  const ch = img.channels
  const bytes = map instanceof Uint8ClampedArray ? map : toBytes(map)
  for (let i = 0; i < map.length; i++) {
    const k = bytes[i] * 3
    const s = i * ch
    const o = i * 4
    out[o] = b * src[s] + a * lut[k]
    out[o + 1] = b * src[s + 1] + a * lut[k + 1]
    out[o + 2] = b * src[s + 2] + a * lut[k + 2]
    out[o + 3] = 255
  }
  return out
}

/** The image alone as RGBA (opaque), for canvases that show it without a map. */
export function imageRgba(img: ImageBytes, out = new Uint8ClampedArray(img.width * img.height * 4)): Uint8ClampedArray {
  const n = img.width * img.height
  checkSize(img, n)
  const { data: src, channels: ch } = img
  for (let i = 0; i < n; i++) {
    const s = i * ch
    const o = i * 4
    out[o] = src[s]
    out[o + 1] = src[s + 1]
    out[o + 2] = src[s + 2]
    out[o + 3] = 255
  }
  return out
}

/** Floats in [0, 1] -> colour-map indices, with the same rounding as Heatmaps.wordBytes. */
export function toBytes(
  map: Float32Array,
  out: Uint8ClampedArray = new Uint8ClampedArray(map.length),
): Uint8ClampedArray {
  for (let i = 0; i < map.length; i++) out[i] = map[i] * 255
  return out
}

/**
 * Mask mode: pixels in the mask are tinted with `color` at `opacity`, the rest is dimmed by
 * `dim`, and the mask's boundary (a mask pixel with a 4-neighbour outside) is drawn solid.
 */
export function overlayMask(
  img: ImageBytes,
  mask: Uint8Array,
  color: readonly [number, number, number],
  opacity = 0.4,
  dim = 0.35,
  outline = true,
  out = new Uint8ClampedArray(mask.length * 4),
): Uint8ClampedArray {
  checkSize(img, mask.length)
  const { width: w, height: h, data: src, channels: ch } = img
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = y * w + x
      const s = i * ch
      const o = i * 4
      if (mask[i]) {
        const edge =
          outline &&
          (x === 0 ||
            y === 0 ||
            x === w - 1 ||
            y === h - 1 ||
            !mask[i - 1] ||
            !mask[i + 1] ||
            !mask[i - w] ||
            !mask[i + w])
        const a = edge ? 1 : opacity
        for (let c = 0; c < 3; c++) out[o + c] = (1 - a) * src[s + c] + a * color[c]
      } else {
        for (let c = 0; c < 3; c++) out[o + c] = (1 - dim) * src[s + c]
      }
      out[o + 3] = 255
    }
  }
  return out
}

/** n well-separated hues (HSV, s = 0.85, v = 1) for multi-word composites. */
export function distinctColors(n: number): [number, number, number][] {
  const out: [number, number, number][] = []
  for (let i = 0; i < n; i++) {
    const hue = (i / Math.max(1, n)) * 6
    const s = 0.85
    const f = hue - Math.floor(hue)
    const p = 1 - s,
      q = 1 - s * f,
      t = 1 - s * (1 - f)
    const rgb = [
      [1, t, p],
      [q, 1, p],
      [p, 1, t],
      [p, q, 1],
      [t, p, 1],
      [1, p, q],
    ][Math.floor(hue) % 6]
    out.push(rgb.map((c) => Math.round(c * 255)) as [number, number, number])
  }
  return out
}

/**
 * Several words at once: each pixel takes the value-weighted mix of the words' colours, blended
 * at opacity x (strongest value), so overlapping words mix and empty areas show the image.
 */
export function compositeWords(
  img: ImageBytes,
  maps: readonly Float32Array[],
  colors: readonly (readonly [number, number, number])[],
  opacity = 0.6,
  out?: Uint8ClampedArray,
): Uint8ClampedArray {
  if (maps.length === 0) throw new Error('no word maps to composite')
  if (colors.length < maps.length) throw new Error('one colour per word needed')
  const n = maps[0].length
  checkSize(img, n)
  const res = out ?? new Uint8ClampedArray(n * 4)
  const src = img.data
  const ch = img.channels
  for (let i = 0; i < n; i++) {
    let r = 0,
      g = 0,
      b = 0,
      sum = 0,
      max = 0
    for (let w = 0; w < maps.length; w++) {
      const v = Math.min(1, Math.max(0, maps[w][i]))
      r += v * colors[w][0]
      g += v * colors[w][1]
      b += v * colors[w][2]
      sum += v
      if (v > max) max = v
    }
    const a = opacity * max
    const s = i * ch
    const o = i * 4
    const inv = sum > 0 ? 1 / sum : 0
    res[o] = (1 - a) * src[s] + a * r * inv
    res[o + 1] = (1 - a) * src[s + 1] + a * g * inv
    res[o + 2] = (1 - a) * src[s + 2] + a * b * inv
    res[o + 3] = 255
  }
  return res
}
