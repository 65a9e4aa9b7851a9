/**
 * The image-size rule, written once: a side is a whole number of pixels, a multiple of the model's
 * size step (its spatial multiple: VAE factor x U-Net downsampling) and at most MAX_SIDE. Callers:
 * the zod schema (`generation.ts`, the bounds that need no model), the renderer's form (a sentence
 * next to the field), the service's `checkRequest` (main trusts nothing) and the engine's
 * `resolveParams` (the CLI and tests reach the engine without the service).
 */

/** Smallest side any model could take (a size step is never below the VAE factor of 8). */
export const MIN_SIDE = 8
/** Largest side we accept: far beyond any SD model, small enough not to exhaust memory outright. */
export const MAX_SIDE = 2048

export type SideName = 'Width' | 'Height'

/** The multiple of `step` nearest to `value`, within [step, MAX_SIDE]: the size to suggest instead. */
export function nearestSide(value: number, step: number): number {
  const largest = Math.max(step, Math.floor(MAX_SIDE / step) * step)
  return Math.min(largest, Math.max(step, Math.round(value / step) * step))
}

/** What is wrong with one side for a model whose size step is `step`, in words; null when fine. */
export function checkImageSide(name: SideName, value: number, step: number): string | null {
  if (!Number.isInteger(value) || value < Math.max(step, MIN_SIDE))
    return `${name} must be a whole number of at least ${Math.max(step, MIN_SIDE)} px.`
  if (value > MAX_SIDE) return `${name} ${value} px is too large: at most ${MAX_SIDE} px.`
  if (value % step !== 0)
    return `${name} ${value} px is not a multiple of ${step} px, this model's size step (e.g. ${nearestSide(value, step)}).`
  return null
}

/** The first problem of a width x height for a model whose size step is `step`; null when fine. */
export function checkImageSize(width: number, height: number, step: number): string | null {
  return checkImageSide('Width', width, step) ?? checkImageSide('Height', height, step)
}
