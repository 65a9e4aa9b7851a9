/**
 * Generation with heat maps through the app's real path: the engine's LoadedModel on the
 * hook-patched U-Net, runPipeline with onUnetOutputs feeding the recorder (as the service does).
 */
import * as path from 'node:path'
import { LoadedModel } from '../../src/main/engine/model'
import { resolveParams, runPipeline, type GenerationResult } from '../../src/main/engine/pipeline'
import { createScheduler } from '../../src/shared/schedulers'
import { prepareAttentionHook, type AttentionHook } from '../../src/main/attention/hook'
import type { AttentionRecord } from '../../src/shared/attention-record'
import type { GenerationParamsInput } from '../../src/shared/generation'

export interface HookedEngine {
  model: LoadedModel
  hook: AttentionHook
}

export async function loadHookedEngine(dir: string, negative = false): Promise<HookedEngine> {
  const hook = prepareAttentionHook(path.join(dir, 'unet', 'model.onnx'), { negative })
  const model = await LoadedModel.load(dir, { unetModel: hook.model, threads: 2 })
  return { model, hook }
}

export async function generateWithRecord(
  e: HookedEngine,
  input: GenerationParamsInput,
): Promise<GenerationResult & { record: AttentionRecord }> {
  const params = resolveParams(e.model, input)
  const enc = e.model.tokenizer.encode(params.prompt)
  const guided = params.guidance > 1
  const neg = guided ? e.model.tokenizer.encode(params.negativePrompt) : null
  const calls = createScheduler(params.scheduler, e.model.folder.scheduler, params.steps).timesteps.length
  const f = e.model.folder.vaeScaleFactor
  const recorder = e.hook.recorder({
    latentHeight: params.height / f,
    latentWidth: params.width / f,
    steps: calls,
    condTokens: enc.length,
    uncondTokens: neg && e.hook.taps[0]?.uncondOutput ? neg.length : undefined,
  })
  const result = await runPipeline(e.model, input, {
    onUnetOutputs: (i, t, out, part) => recorder.onUnetOutputs(i, t, out, part),
  })
  return { ...result, record: recorder.finish() }
}
