/**
 * Colour-keyed ground truth for the bundled model's flat-colour world. Callers: `npm run eval`
 * (eval.ts), test/attention/integration.test.ts and e2e/generate.spec.ts. The colours come from the
 * bundled model's world.json, which models/training/world.py draws the training images with.
 */
import world from '../models/daam-shapes/world.json'

/** [r, g, b], 0-255. */
type Rgb = readonly number[]

/** The object colours by name (the world draws every object in one of them). */
export const PALETTE: Readonly<Record<string, Rgb>> = world.palette
/** The snowman's white, black and outline grey: reference colours that belong to no word. */
const OTHER: readonly Rgb[] = Object.values(world.snowman)

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
