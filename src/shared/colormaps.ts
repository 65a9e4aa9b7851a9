/**
 * Colour maps as 256-entry RGB lookup tables (Uint8Array of 768 bytes, entry i = value i/255),
 * so colouring a 512x512 map is one table read per pixel. Turbo, inferno and viridis come from
 * d3-scale-chromatic. Jet is not in d3; it is defined here as matplotlib's piecewise-linear
 * "jet" (the look DAAM's overlays have): each channel interpolates linearly between the anchor
 * points below.
 */
import { interpolateInferno, interpolateTurbo, interpolateViridis } from 'd3-scale-chromatic'

export type ColormapName = 'jet' | 'turbo' | 'inferno' | 'viridis'
export const COLORMAPS: readonly ColormapName[] = ['jet', 'turbo', 'inferno', 'viridis']

/** matplotlib jet anchors: [position, value] per channel. */
const JET: Record<'r' | 'g' | 'b', [number, number][]> = {
  r: [
    [0, 0],
    [0.35, 0],
    [0.66, 1],
    [0.89, 1],
    [1, 0.5],
  ],
  g: [
    [0, 0],
    [0.125, 0],
    [0.375, 1],
    [0.64, 1],
    [0.91, 0],
    [1, 0],
  ],
  b: [
    [0, 0.5],
    [0.11, 1],
    [0.34, 1],
    [0.65, 0],
    [1, 0],
  ],
}

function piecewise(anchors: [number, number][], x: number): number {
  for (let i = 1; i < anchors.length; i++) {
    const [x1, y1] = anchors[i]
    if (x <= x1) {
      const [x0, y0] = anchors[i - 1]
      return x1 === x0 ? y1 : y0 + ((y1 - y0) * (x - x0)) / (x1 - x0)
    }
  }
  return anchors[anchors.length - 1][1]
}

/** Parses d3's colour strings: "rgb(r, g, b)" or "#rrggbb". */
export function parseColor(css: string): [number, number, number] {
  const rgb = /^rgb\((\d+),\s*(\d+),\s*(\d+)\)$/.exec(css)
  if (rgb) return [Number(rgb[1]), Number(rgb[2]), Number(rgb[3])]
  const hex = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(css)
  if (hex) return [parseInt(hex[1], 16), parseInt(hex[2], 16), parseInt(hex[3], 16)]
  throw new Error(`unrecognised colour ${css}`)
}

const tables = new Map<ColormapName, Uint8Array>()

export function colormapLut(name: ColormapName): Uint8Array {
  const hit = tables.get(name)
  if (hit) return hit
  const lut = new Uint8Array(256 * 3)
  for (let i = 0; i < 256; i++) {
    const x = i / 255
    let c: [number, number, number]
    if (name === 'jet')
      c = [JET.r, JET.g, JET.b].map((a) => Math.round(255 * piecewise(a, x))) as [number, number, number]
    else if (name === 'turbo') c = parseColor(interpolateTurbo(x))
    else if (name === 'inferno') c = parseColor(interpolateInferno(x))
    else if (name === 'viridis') c = parseColor(interpolateViridis(x))
    else throw new Error(`unknown colour map ${String(name)}`)
    lut.set(c, i * 3)
  }
  tables.set(name, lut)
  return lut
}
