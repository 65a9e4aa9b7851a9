/** Reads what the app shows: the image canvas's pixels and the overlay statistics it publishes. */
import type { Page } from '@playwright/test'

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

/** The first shown word's map centroid and peak (pixels), as the canvas publishes them. */
type Point = { x: number; y: number }

/** The first shown word's map: value-weighted centroid, hottest pixel, and centre of its mask at tau 0.4. */
export async function overlayStats(page: Page): Promise<{ centroid: Point; peak: Point; maskCentroid: Point }> {
  const canvas = page.getByTestId('image-canvas')
  const point = async (name: string): Promise<Point> => {
    const [x, y] = ((await canvas.getAttribute(name)) ?? '').split(',').map(Number)
    return { x: x!, y: y! }
  }
  return {
    centroid: await point('data-centroid'),
    peak: await point('data-peak'),
    maskCentroid: await point('data-mask-centroid'),
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
