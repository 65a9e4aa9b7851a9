/**
 * The overlay spec's schema: what an overlay shows (words, stream, colours, mask, filters). It is the
 * payload of the save channels (`overlay:save`, `overlay:saveAll`, `maps:export`), so it lives with
 * the contract; the composer that draws it is src/shared/heatmap/overlay.ts.
 */
import { z } from 'zod'
import { STREAM_NAMES } from '../attention-record'
import { COLORMAPS } from '../colormaps'
import { HEATMAP_METHODS } from '../heatmap/methods'

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
    /** 'daam' (default) or 'refined' (self-attention propagation, issue 16). */
    method: z.enum(HEATMAP_METHODS).optional(),
    filter: z
      .object({
        /** Explicit layer indices (the per-layer grid's cells); takes precedence over resolutions. */
        layers: z.array(z.number().int().min(0).max(1023)).max(256).optional(),
        /** One head alone (per-head records). */
        head: z.number().int().min(0).max(255).optional(),
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
