/**
 * The overlay composer: draws an overlay spec (words, stream, mode, colours, filters) over the
 * generated image. It is the only function that turns heat maps into overlay pixels: the
 * renderer's canvas (src/renderer/src/overlay/overlay-view.ts) and every PNG the main process saves
 * (src/main/saving: "Save overlay", each word of "Save all words", the composite, the grid's tiles,
 * the CLI's --heatmaps) call it, so a saved file is pixel for pixel what the screen shows for the
 * same words and settings. The spec's schema is the IPC payload (src/shared/ipc/overlay.ts).
 */
import { colormapLut } from '../colormaps'
import type { OverlaySpec } from '../ipc/overlay'
import type { HeatmapFilter } from './aggregate'
import { compositeWords, distinctColors, overlayHeatmap, overlayMask, type ImageBytes } from './compose'
import type { Heatmaps } from './heatmaps'
import { thresholdMask } from './masks'
import type { WordSpec } from './word-maps'

/** The spec without its words: how to draw, whichever words are picked. */
export type OverlaySettings = Omit<OverlaySpec, 'words' | 'stream'>

/** Default overlay settings (DAAM's look: jet at 50 %, per-word normalisation, tau 0.4). */
export const DEFAULT_OVERLAY: OverlaySettings = {
  mode: 'heatmap',
  colormap: 'jet',
  opacity: 0.5,
  tau: 0.4,
  normalization: 'word',
  filter: {},
}

/** Colour of the i-th selected word in composites and masks (one hue per word). */
export function wordColors(n: number): [number, number, number][] {
  return distinctColors(Math.max(1, n))
}

export function specFilter(spec: Pick<OverlaySpec, 'filter'>): HeatmapFilter {
  const f: HeatmapFilter = {}
  if (spec.filter.layers) f.layers = [...spec.filter.layers]
  if (spec.filter.head !== undefined) f.head = spec.filter.head
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
 * Draws the spec's overlay over `image` (RGB or RGBA at the maps' size) and returns RGBA.
 * Heat-map mode: one word uses the colour map, several words the hue composite. Mask mode: each
 * word's mask at tau, tinted in its hue with an outline; later words are drawn over earlier ones
 * without dimming again. Throws a plain Error when the spec does not fit the record (a token past
 * the prompt, a filter that selects no layer, a negative-prompt word without that stream).
 */
export function renderOverlay(
  // any source of word maps (the renderer's serves precomputed image-guided maps); `scratch.maps`
  // is offered to it as buffers to reuse
  heatmaps: Pick<Heatmaps, 'wordMaps'>,
  image: ImageBytes,
  spec: OverlaySpec,
  scratch: OverlayScratch = {},
): Uint8ClampedArray {
  const words: WordSpec[] = spec.words
  const result = heatmaps.wordMaps(
    words,
    { filter: specFilter(spec), normalization: spec.normalization, stream: spec.stream, method: spec.method },
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
