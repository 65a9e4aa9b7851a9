/**
 * The attention hook's entry point: reads a U-Net file and returns the bytes to create its session
 * from, patched so that every cross-attention layer also outputs its probabilities
 * (src/main/attention/patch-unet.ts), with the taps that name those outputs. Called by
 * src/main/attention/trace.ts when it loads a model:
 *
 *   const hook = prepareAttentionHook(folder.unetPath, { negative, control })
 *   if (hook.warning) report(hook.warning)     // fused attention: images still work, no maps
 *   model = await LoadedModel.load(dir, { unetModel: hook.taps.length ? hook.model : undefined })
 *
 * The extra outputs cost nothing unless fetched: the pipeline fetches them only for observers
 * that watch U-Net calls (the recorder).
 */
import * as fs from 'node:fs'
import { patchUnet, type PatchOptions, type TapInfo } from './patch-unet'

export interface AttentionHook {
  /** Model bytes to create the U-Net session from (patched, or the original when no tap). */
  model: Buffer
  /** Tapped layers, in graph order; empty when the model's attention cannot be tapped. */
  taps: TapInfo[]
  /** Human-readable reason why there are no heat maps for this model, if any. */
  warning?: string
}

export function prepareAttentionHook(unetPath: string, options: PatchOptions = {}): AttentionHook {
  const bytes = fs.readFileSync(unetPath)
  try {
    const patch = patchUnet(bytes, options)
    return { model: patch.model, taps: patch.taps, warning: patch.warning }
  } catch (e) {
    // The hook must never stop generation: fall back to the unpatched model and say why.
    const msg = e instanceof Error ? e.message : String(e)
    return {
      model: bytes,
      taps: [],
      warning: `Attention hook disabled for ${unetPath}: ${msg}. Images are generated without heat maps.`,
    }
  }
}
