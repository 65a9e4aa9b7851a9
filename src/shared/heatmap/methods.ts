/**
 * The heat-map methods an overlay can use (issue 16). Callers: Heatmaps (heatmaps.ts), the overlay
 * spec's schema (src/shared/ipc/overlay.ts), the renderer's controls and `npm run eval`.
 *  - 'daam': DAAM's cross-attention maps, computed exactly as castorini/daam does.
 *  - 'refined': the same recipe on the prompt's token maps propagated, inside the U-Net graph,
 *    through each layer's own self-attention (DiffSegmenter / Dataset Diffusion / iSeg-style;
 *    src/main/attention/patch-unet.ts `refine`). Prompt words only; needs a record made with it.
 */
export const HEATMAP_METHODS = ['daam', 'refined'] as const
export type HeatmapMethod = (typeof HEATMAP_METHODS)[number]

export const METHOD_LABELS: Record<HeatmapMethod, string> = {
  daam: 'DAAM',
  refined: 'Refined (self-attention)',
}
