/**
 * The one builder of the text metadata saved files carry (PNG text chunks, and the `meta` of the
 * JSON indexes): which generation a file comes from and how its overlay was drawn. Callers:
 * app-saves.ts (Save overlay), word-files.ts (per-word overlays, composite, grid) for the app and
 * the CLI (cli-heatmaps.ts).
 */
import type { TokenMaps } from '../../shared/heatmap/aggregate'
import type { OverlaySpec } from '../../shared/ipc/overlay'

/** The generation a saved file comes from. */
export interface GenerationInfo {
  prompt: string
  negativePrompt?: string
  seed: number | string
  steps: number
  guidance?: number
  scheduler?: string
  /** Model name (the app) or folder (the CLI). */
  model: string
  /** Further generation parameters, kept in JSON indexes (the CLI passes all it resolved). */
  [key: string]: unknown
}

export const SOFTWARE = 'DAAM Studio'

/** PNG text of the generation: prompt, seed, steps, guidance, scheduler, model. */
export function generationText(g: GenerationInfo): Record<string, string> {
  return {
    prompt: g.prompt,
    ...(g.negativePrompt ? { negative_prompt: g.negativePrompt } : {}),
    seed: String(g.seed),
    steps: String(g.steps),
    ...(g.guidance !== undefined ? { guidance: String(g.guidance) } : {}),
    ...(g.scheduler !== undefined ? { scheduler: g.scheduler } : {}),
    ...(g.weights && typeof g.weights === 'object' ? { weights: JSON.stringify(g.weights) } : {}),
    model: g.model,
    Software: SOFTWARE,
  }
}

/** What the aggregation used (layer indices, step range), recorded next to the requested filter. */
export type UsedMaps = Pick<TokenMaps, 'layers' | 'steps'>

/**
 * PNG text of an overlay: the generation, the words drawn, their stream and the overlay settings
 * (mode, colour map, opacity, tau, normalisation, filter, and the layers and steps it selected).
 */
export function overlayText(g: GenerationInfo, spec: OverlaySpec, used?: UsedMaps): Record<string, string> {
  return {
    ...generationText(g),
    words: spec.words.map((w) => w.label).join(', '),
    stream: spec.stream,
    overlay: JSON.stringify({
      mode: spec.mode,
      colormap: spec.colormap,
      opacity: spec.opacity,
      tau: spec.tau,
      normalization: spec.normalization,
      ...(spec.method ? { method: spec.method } : {}),
      filter: spec.filter,
      ...(used ? { layers: used.layers, steps: used.steps } : {}),
    }),
  }
}
