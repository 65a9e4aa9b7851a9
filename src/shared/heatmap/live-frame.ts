/**
 * Frames of the live maps: the live preview (RGB at latent size) enlarged, with an overlay spec
 * drawn over it from the live record (src/shared/live-attention.ts) by the one overlay composer.
 * Callers: the renderer's live stage (src/renderer/src/components/LiveStage.tsx) after every step.
 */
import type { AttentionRecord } from '../attention-record'
import type { OverlaySpec } from '../ipc/overlay'
import type { ImageBytes } from './compose'
import { Heatmaps } from './heatmaps'
import { renderOverlay, type OverlayScratch } from './overlay'
import { resizeBicubicToBytes } from './resize'

/** Enlarges interleaved RGB bytes with the maps' bicubic filter (one channel at a time). */
export function enlargeRgb(rgb: Uint8Array, width: number, height: number, dw: number, dh: number): ImageBytes {
  const n = width * height
  const plane = new Float32Array(n)
  const big = new Uint8ClampedArray(dw * dh)
  const out = new Uint8ClampedArray(dw * dh * 3)
  for (let c = 0; c < 3; c++) {
    for (let i = 0; i < n; i++) plane[i] = rgb[i * 3 + c] / 255
    resizeBicubicToBytes(plane, height, width, big, dh, dw)
    for (let i = 0; i < dw * dh; i++) out[i * 3 + c] = big[i]
  }
  return { data: out, width: dw, height: dh, channels: 3 }
}

/** The live overlay over `image` (any size: the record's maps are brought to it), as RGBA. */
export function renderLiveOverlay(
  record: AttentionRecord,
  image: ImageBytes,
  spec: OverlaySpec,
  scratch: OverlayScratch = {},
): Uint8ClampedArray {
  // the live record has one synthetic layer: no resolution filter applies to it
  const liveSpec: OverlaySpec = { ...spec, filter: {} }
  return renderOverlay(new Heatmaps(record, image.width, image.height, image), image, liveSpec, scratch)
}
