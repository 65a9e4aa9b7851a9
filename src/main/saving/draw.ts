/**
 * Overlay pixels for a saved file: the shared composer (src/shared/heatmap/overlay.ts), with its
 * complaints about a spec that does not fit the generation (a token past the prompt, a filter
 * selecting no layer) turned into an 'invalid-request' AppError instead of a save failure.
 * Callers: app-saves.ts and word-files.ts.
 */
import type { ImageBytes } from '../../shared/heatmap/compose'
import type { Heatmaps } from '../../shared/heatmap/heatmaps'
import { renderOverlay, type OverlayScratch } from '../../shared/heatmap/overlay'
import type { OverlaySpec } from '../../shared/ipc/overlay'
import { AppError } from '../../shared/ipc/result'

/** A fresh RGBA buffer (the caller may keep it); `scratch` reuses the map buffers between words. */
export function drawOverlay(
  heatmaps: Heatmaps,
  image: ImageBytes,
  spec: OverlaySpec,
  scratch: OverlayScratch = {},
): Uint8ClampedArray {
  // the result may be kept (grid tiles), so it never lands in a buffer a later call reuses
  scratch.rgba = undefined
  scratch.chain = undefined
  return fitting(() => renderOverlay(heatmaps, image, spec, scratch))
}

/** Runs heat-map maths, reporting a spec that does not fit the generation as 'invalid-request'. */
export function fitting<T>(compute: () => T): T {
  try {
    return compute()
  } catch (error) {
    if (error instanceof AppError) throw error
    const reason = error instanceof Error ? error.message : String(error)
    throw new AppError('invalid-request', `The overlay does not fit this generation: ${reason}.`)
  }
}
