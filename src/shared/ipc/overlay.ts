/**
 * What an overlay shows (the words, colours, mask, filters) and how it is drawn. The renderer's
 * canvas and main's PNG export both call `renderOverlay` with the same spec, so a saved overlay is
 * pixel for pixel what the screen shows. The spec is also the payload of the save channels, so its
 * schema lives with the contract.
 */
import { z } from 'zod'
import { STREAM_NAMES } from '../attention-record'
import { COLORMAPS, colormapLut } from '../colormaps'
import type { HeatmapFilter } from '../heatmap/aggregate'
import { compositeWords, distinctColors, overlayHeatmap, overlayMask, type ImageBytes } from '../heatmap/compose'
import type { Heatmaps } from '../heatmap/heatmaps'
import { thresholdMask } from '../heatmap/masks'
import type { WordSpec } from '../heatmap/words'

const tokenIndex = z.number().int().min(0).max(1023)

export const overlaySpecSchema = z
  .object({
    words: z
      .array(z.object({ label: z.string().min(1).max(200), tokens: z.array(tokenIndex).min(1).max(77) }).strict())
      .min(1)
      .max(77),
    stream: z.enum(STREAM_NAMES),
    mode: z.enum(['heatmap', 'mask']),
    colormap: z.enum(COLORMAPS as unknown as ['jet', 'turbo', 'inferno', 'viridis']),
    opacity: z.number().min(0).max(1),
    tau: z.number().min(0).max(1),
    normalization: z.enum(['word', 'absolute', 'across']),
    filter: z
      .object({
        resolutions: z.array(z.number().int().min(1).max(4096)).max(32).optional(),
        steps: z
          .object({ from: z.number().int().min(0), to: z.number().int().min(0) })
          .strict()
          .optional(),
        step: z.number().int().min(0).optional(),
      })
      .strict(),
  })
  .strict()

export type OverlaySpec = z.infer<typeof overlaySpecSchema>

/** Colour of the i-th selected word in composites and masks (one hue per word). */
export function wordColors(n: number): [number, number, number][] {
  return distinctColors(Math.max(1, n))
}

export function specFilter(spec: Pick<OverlaySpec, 'filter'>): HeatmapFilter {
  const f: HeatmapFilter = {}
  if (spec.filter.resolutions) f.resolutions = [...spec.filter.resolutions]
  if (spec.filter.steps) f.steps = { ...spec.filter.steps }
  if (spec.filter.step !== undefined) f.step = spec.filter.step
  return f
}

/** Reusable buffers between renders (the renderer redraws on every click and slider move). */
export interface OverlayScratch {
  maps?: Float32Array[]
  mask?: Uint8Array<ArrayBuffer>
  rgba?: Uint8ClampedArray<ArrayBuffer>
  chain?: Uint8ClampedArray<ArrayBuffer>
}

/**
 * Draws the spec's overlay over `image` (RGB or RGBA at the maps' size). Heat-map mode: one word
 * uses the colour map, several words the hue composite. Mask mode: each word's mask at tau, tinted
 * in its hue with an outline; later words are drawn over earlier ones without dimming again.
 */
export function renderOverlay(
  heatmaps: Heatmaps,
  image: ImageBytes,
  spec: OverlaySpec,
  scratch: OverlayScratch = {},
): Uint8ClampedArray {
  const words: WordSpec[] = spec.words
  const result = heatmaps.wordMaps(
    words,
    { filter: specFilter(spec), normalization: spec.normalization, stream: spec.stream },
    scratch.maps,
  )
  scratch.maps = result.maps
  const n = image.width * image.height
  if (scratch.rgba?.length !== n * 4) scratch.rgba = new Uint8ClampedArray(n * 4)
  const out = scratch.rgba
  const colors = wordColors(words.length)
  if (spec.mode === 'heatmap') {
    if (words.length === 1) return overlayHeatmap(image, result.maps[0]!, colormapLut(spec.colormap), spec.opacity, out)
    return compositeWords(image, result.maps, colors, spec.opacity, out)
  }
  if (scratch.mask?.length !== n) scratch.mask = new Uint8Array(n)
  const mask = scratch.mask
  overlayMask(image, thresholdMask(result.maps[0]!, spec.tau, mask), colors[0]!, spec.opacity, 0.35, true, out)
  if (words.length === 1) return out
  if (scratch.chain?.length !== n * 4) scratch.chain = new Uint8ClampedArray(n * 4)
  let src = out
  let dst = scratch.chain
  for (let w = 1; w < words.length; w++) {
    overlayMask(
      { data: src, width: image.width, height: image.height, channels: 4 },
      thresholdMask(result.maps[w]!, spec.tau, mask),
      colors[w]!,
      spec.opacity,
      0,
      true,
      dst,
    )
    ;[src, dst] = [dst, src]
  }
  return src
}

/** Default overlay settings (DAAM's look: jet at 50 %, per-word normalisation, tau 0.4). */
export const DEFAULT_OVERLAY: Omit<OverlaySpec, 'words' | 'stream'> = {
  mode: 'heatmap',
  colormap: 'jet',
  opacity: 0.5,
  tau: 0.4,
  normalization: 'word',
  filter: {},
}
