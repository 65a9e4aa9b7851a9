/** Colour-keyed ground truth for the bundled model's flat-colour world (tests and scripts/eval.ts). */

// Mirrors models/training/world.py (palette and held-out combinations).
export const PALETTE: Record<string, [number, number, number]> = {
  red: [220, 40, 40],
  green: [40, 165, 60],
  blue: [40, 80, 220],
  yellow: [240, 205, 30],
  purple: [140, 60, 185],
  orange: [245, 135, 25],
}
const OTHER: [number, number, number][] = [
  [250, 250, 250],
  [25, 25, 25],
  [120, 120, 130],
]

/** Pixels whose nearest reference colour is `colour` and that are within a distance of it. */
export function colourMask(rgb: Uint8Array, colour: string): Uint8Array {
  const refs = [
    ...Object.entries(PALETTE).map(([k, v]) => [k, v] as const),
    ...OTHER.map((v, i) => [`other${i}`, v] as const),
  ]
  const out = new Uint8Array(rgb.length / 3)
  for (let i = 0; i < out.length; i++) {
    let best = '',
      bestD = Infinity
    for (const [k, v] of refs) {
      const d = (rgb[i * 3] - v[0]) ** 2 + (rgb[i * 3 + 1] - v[1]) ** 2 + (rgb[i * 3 + 2] - v[2]) ** 2
      if (d < bestD) {
        bestD = d
        best = k
      }
    }
    out[i] = best === colour && bestD < 70 ** 2 ? 1 : 0
  }
  return out
}

/** Mean row (y) of a mask's pixels, or NaN when empty. */
export function centroidY(mask: Uint8Array, width: number): number {
  let s = 0,
    n = 0
  for (let i = 0; i < mask.length; i++)
    if (mask[i]) {
      s += Math.floor(i / width)
      n++
    }
  return n ? s / n : NaN
}

/** Share of `target`'s pixels that `mask` covers. */
export function coverage(mask: Uint8Array, target: Uint8Array): number {
  let hit = 0,
    n = 0
  for (let i = 0; i < target.length; i++)
    if (target[i]) {
      n++
      if (mask[i]) hit++
    }
  return n ? hit / n : NaN
}
