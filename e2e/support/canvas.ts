/**
 * Reads what the app shows from the image canvas's pixels (e2e specs): the pixels themselves, the
 * word map behind a heat-map overlay, and where that map points.
 */
import type { Page } from '@playwright/test'
import { colormapLut, type ColormapName } from '../../src/shared/colormaps'
import { DEFAULT_TAU } from '../../src/shared/heatmap/masks'

export interface CanvasPixels {
  width: number
  height: number
  /** RGBA bytes. */
  data: Uint8Array
}

export async function canvasPixels(page: Page): Promise<CanvasPixels> {
  // A source string: the node tsconfig has no DOM types, and the page's CSP allows CDP evaluation.
  const r = (await page.evaluate(`(() => {
    const c = document.querySelector('[data-testid="image-canvas"]')
    if (!c) throw new Error('no image canvas')
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data
    return { width: c.width, height: c.height, data: new Uint8Array(d.buffer) }
  })()`)) as { width: number; height: number; data: Uint8Array }
  return { width: r.width, height: r.height, data: new Uint8Array(r.data) }
}

/** RGBA -> RGB. */
export function rgbOf(p: CanvasPixels): Uint8Array {
  const out = new Uint8Array(p.width * p.height * 3)
  for (let i = 0; i < p.width * p.height; i++) {
    out[i * 3] = p.data[i * 4]!
    out[i * 3 + 1] = p.data[i * 4 + 1]!
    out[i * 3 + 2] = p.data[i * 4 + 2]!
  }
  return out
}

type Point = { x: number; y: number }

/**
 * The word map behind a single-word heat-map overlay, read back from the screen: the canvas shows
 * image * (1 - opacity) + colormap(value) * opacity (shared/heatmap/compose.ts), so each pixel's
 * colour-map entry is the one nearest to (shown - image * (1 - opacity)) / opacity. Values are the
 * colour map's 256 levels, 0..1. Opacity and colour map are read from the overlay controls.
 */
export async function shownWordMap(page: Page, plain: CanvasPixels, shown: CanvasPixels): Promise<Float32Array> {
  const opacity = Number(await page.getByTestId('opacity').inputValue())
  const colormap = (await page.getByTestId('colormap').inputValue()) as ColormapName
  return heatmapValues(plain, shown, opacity, colormap)
}

/** `shownWordMap` for a known opacity and colour map. */
export function heatmapValues(
  plain: CanvasPixels,
  shown: CanvasPixels,
  opacity: number,
  colormap: ColormapName,
): Float32Array {
  if (!(opacity > 0)) throw new Error('at opacity 0 the overlay shows no map')
  const lut = colormapLut(colormap)
  const n = plain.width * plain.height
  const map = new Float32Array(n)
  const target = [0, 0, 0]
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < 3; c++) target[c] = (shown.data[i * 4 + c]! - (1 - opacity) * plain.data[i * 4 + c]!) / opacity
    let best = 0
    let bestD = Infinity
    for (let k = 0; k < 256; k++) {
      const d =
        (lut[k * 3]! - target[0]!) ** 2 + (lut[k * 3 + 1]! - target[1]!) ** 2 + (lut[k * 3 + 2]! - target[2]!) ** 2
      if (d < bestD) {
        bestD = d
        best = k
      }
    }
    map[i] = best / 255
  }
  return map
}

export interface MapStats {
  /** The first pixel (row-major) at the map's largest value. */
  peak: Point
  /** Value-weighted centre of the map, in pixels. */
  centroid: Point
  /** Centre of the map's mask at DAAM's tau (where the word "is"), in pixels. */
  maskCentroid: Point
}

/** Where a word map points: its peak, its value-weighted centroid and its mask's centre. */
export function mapStats(map: Float32Array, width: number, tau = DEFAULT_TAU): MapStats {
  const height = map.length / width
  let best = -1
  let bestAt = 0
  let sum = 0
  let sx = 0
  let sy = 0
  let n = 0
  let mx = 0
  let my = 0
  for (let y = 0, i = 0; y < height; y++) {
    for (let x = 0; x < width; x++, i++) {
      const v = map[i]!
      if (v > best) {
        best = v
        bestAt = i
      }
      sum += v
      sx += v * x
      sy += v * y
      if (v >= tau) {
        n++
        mx += x
        my += y
      }
    }
  }
  const centre = { x: width / 2, y: height / 2 }
  return {
    peak: { x: bestAt % width, y: Math.floor(bestAt / width) },
    centroid: sum > 0 ? { x: sx / sum, y: sy / sum } : centre,
    maskCentroid: n > 0 ? { x: mx / n, y: my / n } : centre,
  }
}

/** Fraction of pixels where two RGBA images differ by more than `tol` in some channel. */
export function differingFraction(a: CanvasPixels, b: CanvasPixels, tol = 2): number {
  let n = 0
  for (let i = 0; i < a.width * a.height; i++) {
    for (let c = 0; c < 3; c++) {
      if (Math.abs(a.data[i * 4 + c]! - b.data[i * 4 + c]!) > tol) {
        n++
        break
      }
    }
  }
  return n / (a.width * a.height)
}
