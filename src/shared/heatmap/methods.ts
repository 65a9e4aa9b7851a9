/**
 * The heat-map methods an overlay can use (issue 16). Callers: Heatmaps (heatmaps.ts), the overlay
 * spec's schema (src/shared/ipc/overlay.ts), the renderer's controls and `npm run eval`.
 *  - 'daam': DAAM's cross-attention maps, computed exactly as castorini/daam does.
 *  - 'refined': the same recipe on the prompt's token maps propagated, inside the U-Net graph,
 *    through each layer's own self-attention (DiffSegmenter / Dataset Diffusion / iSeg-style;
 *    src/main/attention/patch-unet.ts `refine`). Prompt words only; needs a record made with it.
 *  - 'guided': DAAM's word maps snapped to the generated image's regions by an edge-aware filter
 *    and a dense-CRF-style mean field (image-guided.ts). Needs no extra recording, only the image.
 */
export const HEATMAP_METHODS = ['daam', 'guided', 'refined'] as const
export type HeatmapMethod = (typeof HEATMAP_METHODS)[number]

export const METHOD_LABELS: Record<HeatmapMethod, string> = {
  daam: 'DAAM',
  guided: 'Image-guided',
  refined: 'Refined (self-attention)',
}

/** One line each for the Method control's tooltip. */
export const METHOD_HINTS: Record<HeatmapMethod, string> = {
  daam: "DAAM's cross-attention maps, exactly as castorini/daam computes them",
  guided: "DAAM's map snapped to the image's own regions (edge-aware filter + CRF): sharper, follows object borders",
  refined: 'DAAM on the token maps propagated through the self-attention (needs the refined recording)',
}
