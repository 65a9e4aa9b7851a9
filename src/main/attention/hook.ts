/**
 * What the engine calls. Load time:
 *   const hook = prepareAttentionHook(unetPath, { negative });
 *   if (hook.warning) report(hook.warning);           // fused attention: images still work
 *   session = await ort.InferenceSession.create(hook.model, { ...engineOptions, ...hook.sessionOptions });
 * Per generation:
 *   const recorder = hook.taps.length ? hook.recorder({ latentHeight, latentWidth, steps,
 *     condTokens: encoding.length, uncondTokens: negative ? negEncoding.length : undefined }) : undefined;
 *   onUnetOutputs = (step, t, outputs) => recorder?.onUnetOutputs(step, t, outputs);
 *   ... after the loop (or on cancel): const record = recorder?.finish();
 * The extra outputs are only fetched when asked for: pass `session.outputNames` (all) to run, or
 * restrict fetches to `out_sample` to generate without maps at no cost.
 */
import * as fs from 'node:fs'
import * as path from 'node:path'
import type { InferenceSession } from 'onnxruntime-node'
import { patchUnet, type PatchOptions, type TapInfo } from './patch-unet'
import { externalDataOptions } from './session-options'
import { AttentionRecorder, type RecorderOptions } from './recorder'

export interface AttentionHook {
  /** Model bytes to create the U-Net session from (patched, or the original when no tap). */
  model: Buffer
  /** Options to merge into the session options (external data next to the original file). */
  sessionOptions: InferenceSession.SessionOptions
  taps: TapInfo[]
  /** Extra output names, in tap order (cond, then uncond when asked for). */
  outputNames: string[]
  /** Human-readable reason why there are no heat maps for this model, if any. */
  warning?: string
  recorder(options: Omit<RecorderOptions, 'taps'>): AttentionRecorder
}

export function prepareAttentionHook(unetPath: string, options: PatchOptions = {}): AttentionHook {
  const bytes = fs.readFileSync(unetPath)
  let patch
  try {
    patch = patchUnet(bytes, options)
  } catch (e) {
    // The hook must never stop generation: fall back to the unpatched model and say why.
    const msg = e instanceof Error ? e.message : String(e)
    return {
      model: bytes,
      sessionOptions: externalDataOptions(path.dirname(unetPath)),
      taps: [],
      outputNames: [],
      warning: `Attention hook disabled for ${unetPath}: ${msg}. Images are generated without heat maps.`,
      recorder: () => {
        throw new Error('no attention taps')
      },
    }
  }
  const taps = patch.taps
  return {
    model: patch.model,
    sessionOptions: externalDataOptions(path.dirname(unetPath)),
    taps,
    outputNames: taps.flatMap((t) => (t.uncondOutput ? [t.output, t.uncondOutput] : [t.output])),
    warning: patch.warning,
    recorder: (o) => new AttentionRecorder({ ...o, taps }),
  }
}
