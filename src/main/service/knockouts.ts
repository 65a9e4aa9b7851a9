/**
 * The app's knock-outs (issue 17) on the engine worker (engine-host/engine-thread.ts): re-runs a
 * generation once per word with that word's attention at 0 (src/main/attention/knockout.ts) on
 * the active model, and returns what crosses back to the service: the knocked-out PNG, the change
 * map as bytes and the figures. Failures become AppErrors the UI can show.
 */
import { deserializeRecord } from '../../shared/attention-record'
import { toBytes } from '../../shared/heatmap/compose'
import type { GenerationParamsInput } from '../../shared/generation'
import { AppError } from '../../shared/ipc/result'
import type { KnockoutEntry, ProgressEvent } from '../../shared/ipc/payloads'
import type { WordSpec } from '../../shared/heatmap/word-maps'
import { knockOutAll, knockoutParams, KNOCKOUT_FROM } from '../attention/knockout'
import { GenerationCancelledError, InvalidParamsError } from '../engine'
import type { ActiveModel } from './models'

export interface KnockoutRequest {
  params: GenerationParamsInput
  words: WordSpec[]
  rgb: Uint8Array
  record: Uint8Array
  width: number
  height: number
  modelDir: string
}

/** Progress after each word; `step`/`total` count words, as a generation's count steps. */
export type KnockoutProgressEvent = ProgressEvent & { word: string }

export async function runKnockouts(
  active: ActiveModel,
  request: KnockoutRequest,
  signal: AbortSignal,
  onProgress: (p: KnockoutProgressEvent) => void,
): Promise<KnockoutEntry[]> {
  if (active.summary.dir !== request.modelDir) {
    throw new AppError(
      'invalid-params',
      `This image was made with the model in ${request.modelDir}; load that model to knock out its words (the current one is ${active.summary.dir}).`,
    )
  }
  if (!active.model.unet.inputNames.includes('daam_token_scale')) {
    throw new AppError(
      'invalid-params',
      active.hook.warning ?? 'This model has no attention control, so its words cannot be knocked out.',
    )
  }
  if (request.rgb.length !== request.width * request.height * 3) {
    throw new AppError('invalid-request', 'The original image does not match its size.')
  }
  const record = deserializeRecord(request.record)
  const t0 = performance.now()
  const source = { params: request.params, rgb: request.rgb, width: request.width, height: request.height, record }
  try {
    const results = await knockOutAll(active, source, request.words, {
      signal,
      onWord: (p) =>
        onProgress({ step: p.done, total: p.total, elapsedMs: performance.now() - t0, etaMs: p.etaMs, word: p.word }),
    })
    return results.map((r) => ({
      word: r.word,
      tokens: r.tokens,
      png: new Uint8Array(r.png),
      change: new Uint8Array(toBytes(r.change).buffer),
      width: r.width,
      height: r.height,
      changeSize: r.changeSize,
      agreement: r.agreement,
      attentionShare: r.attentionShare,
      disagree: r.disagree,
      tau: r.tau,
      fromStep: knockoutParams(request.params, r.word, KNOCKOUT_FROM).weightSteps!.from,
      ms: r.ms,
    }))
  } catch (error) {
    if (error instanceof InvalidParamsError) throw new AppError('invalid-params', error.message)
    if (error instanceof GenerationCancelledError) throw new AppError('cancelled', 'Knock-out cancelled.')
    throw error
  }
}
