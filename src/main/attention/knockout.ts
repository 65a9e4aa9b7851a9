/**
 * Knock out a word (issue 17): re-run a generation with the same prompt, seed, sampler and
 * settings, with that word's tokens' cross-attention scaled to 0 (the `weights` parameter, applied
 * by the U-Net's attention control, see patch-unet.ts; the tokens after the word are encoded
 * without it, engine/downweight.ts), and measure what changed: the change map
 * |image - knocked-out image| and its agreement with the word's attention. Callers: the app's
 * knock-outs on the engine worker (src/main/service/knockouts.ts), scripts/knockout-table.ts and tests.
 */
import type { AttentionRecord } from '../../shared/attention-record'
import { agreement, attentionShare, changeMap, changeSize, DISAGREE_BELOW } from '../../shared/heatmap/change-map'
import { Heatmaps } from '../../shared/heatmap/heatmaps'
import { DEFAULT_TAU } from '../../shared/heatmap/masks'
import type { WordSpec } from '../../shared/heatmap/word-maps'
import { foldWord } from '../../shared/tokenizer/word-spans'
import { GENERATION_DEFAULTS, MAX_STEPS, type GenerationParamsInput } from '../../shared/generation'
import { runPipeline, type ResolvedParams } from '../engine/pipeline'
import type { TracedModel } from './trace'

/** What a knock-out needs of the original generation. */
export interface KnockoutSource {
  params: ResolvedParams | GenerationParamsInput
  rgb: Uint8Array
  width: number
  height: number
  record: AttentionRecord
}

export interface KnockoutResult {
  /** The word as its chip shows it, and its token positions (BOS = 0). */
  word: string
  tokens: number[]
  /** The knocked-out image: RGB bytes and PNG (with its parameters, the 0 weight included). */
  rgb: Uint8Array
  png: Buffer
  width: number
  height: number
  /** |image - knocked-out|, smoothed and min-max normalised, [y][x] at image size. */
  change: Float32Array
  /** Fraction of the image in the change map's tau mask. */
  changeSize: number
  /** IoU of the word's tau mask and the change map's tau mask (same tau). */
  agreement: number
  /** The word's share of the prompt tokens' attention. */
  attentionShare: number
  /** Attention and effect disagree (agreement below DISAGREE_BELOW). */
  disagree: boolean
  tau: number
  /** Wall time of the re-run and the maps. */
  ms: number
}

/**
 * Knock-outs start after this share of the denoising rounds. Measured on the bundled model (demo
 * prompt, seeds 42 and 1-3): scaled to 0 from the first round, "hat" also moves and resizes the
 * whole snowman (the layout is decided in the first rounds; IoU of the change with the hat 0.18-0.48,
 * 5-11 % of the image changed); from 30 % of the rounds on, the layout stays and the hat alone
 * changes (IoU 0.37-0.76, 3-5 %). Prompt-to-prompt edits attention for part of the schedule for
 * the same reason. 0 knocks out over the whole schedule.
 */
export const KNOCKOUT_FROM = 0.3

export interface KnockoutOptions {
  tau?: number
  /** Share of the rounds before the knock-out starts (default KNOCKOUT_FROM). */
  from?: number
  signal?: AbortSignal
  /** Denoising progress of the re-run. */
  onStep?: (step: number, total: number) => void
}

/**
 * The original's parameters with the word's weight at 0 (other weights kept), from round
 * round(from * steps) to the last. Other weights then also apply only in that window: a knock-out of
 * a re-weighted generation is approximate before it.
 */
export function knockoutParams(
  params: KnockoutSource['params'],
  word: string,
  from = KNOCKOUT_FROM,
): GenerationParamsInput {
  const steps = params.steps ?? GENERATION_DEFAULTS.steps
  const first = Math.min(steps, Math.max(0, Math.round(from * steps)))
  return {
    ...params,
    weights: { ...(params.weights ?? {}), [foldWord(word)]: 0 },
    weightSteps: { from: first, to: Math.min(MAX_STEPS, steps + 1) },
  }
}

export async function knockOutWord(
  traced: TracedModel,
  source: KnockoutSource,
  word: WordSpec,
  options: KnockoutOptions = {},
): Promise<KnockoutResult> {
  const t0 = performance.now()
  const tau = options.tau ?? DEFAULT_TAU
  // Plain pipeline run: the knocked-out image's own attention is not needed.
  const r = await runPipeline(traced.model, knockoutParams(source.params, word.label, options.from), {
    signal: options.signal,
    onProgress: options.onStep && ((p) => options.onStep!(p.step, p.total)),
  })
  if (r.width !== source.width || r.height !== source.height) {
    throw new Error(`knock-out drew ${r.width}x${r.height}, the original is ${source.width}x${source.height}`)
  }
  const change = changeMap(source.rgb, r.rgb, r.width, r.height)
  const heatmaps = new Heatmaps(source.record, source.width, source.height)
  const { maps, tokenMaps } = heatmaps.wordMaps([word])
  return {
    word: word.label,
    tokens: [...word.tokens],
    rgb: r.rgb,
    png: r.png,
    width: r.width,
    height: r.height,
    change,
    changeSize: changeSize(change, tau),
    agreement: agreement(maps[0], change, tau),
    attentionShare: attentionShare(tokenMaps, word),
    disagree: agreement(maps[0], change, tau) < DISAGREE_BELOW,
    tau,
    ms: performance.now() - t0,
  }
}

export interface KnockoutAllProgress {
  done: number
  total: number
  word: string
  /** Estimated remaining time from the mean time per word so far. */
  etaMs: number
}

/** One knock-out per word, in order; stops between (and within) runs when the signal aborts. */
export async function knockOutAll(
  traced: TracedModel,
  source: KnockoutSource,
  words: readonly WordSpec[],
  options: KnockoutOptions & { onWord?: (p: KnockoutAllProgress) => void } = {},
): Promise<KnockoutResult[]> {
  const out: KnockoutResult[] = []
  const t0 = performance.now()
  for (const word of words) {
    const r = await knockOutWord(traced, source, word, options)
    out.push(r)
    const per = (performance.now() - t0) / out.length
    options.onWord?.({
      done: out.length,
      total: words.length,
      word: word.label,
      etaMs: per * (words.length - out.length),
    })
  }
  return out
}
