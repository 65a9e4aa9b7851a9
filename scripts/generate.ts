/**
 * Command-line generation with the engine (no Electron):
 *
 *   npx tsx scripts/generate.ts --prompt "a red circle" [--negative TEXT] [--seed N] [--steps N]
 *     [--guidance X] [--scheduler NAME] [--width W --height H] [--model FOLDER] [--provider cpu]
 *     [--heatmaps all|word,word] [--per-head | --method daam|guided|refined] [--timelapse WORD]
 *     [--weights word=w,word=w] [--weight-steps A-B] --out DIR
 *
 * Word weights (0-3) come from --weights or from emphasis in the prompt, `(word:1.3)`, `(word)`,
 * `[word]` (src/shared/emphasis.ts); either loads the U-Net with attention control.
 *
 * Writes DIR/image.png (parameters in its text chunks) and DIR/meta.json (parameters, model,
 * provider, timings, prompt words). With --heatmaps the U-Net is patched by the attention hook
 * and the word heat maps are written too (src/main/saving/cli-heatmaps.ts); --per-head records every
 * head's map (DAAM's exact per-head clamp, heads x the record size); --method guided exports DAAM's
 * maps snapped to the image's regions, --method refined the self-attention-refined maps (issue 16). With --timelapse WORD,
 * DIR/timelapse.webp is an animated WebP of each step's live preview next to the word's map of
 * steps 1..k (src/main/saving/timelapse.ts). Exit code 2 for
 * bad arguments (including heat-map words not in the prompt), 1 for failures.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import * as ort from 'onnxruntime-node'
import { writeCliHeatmaps } from '../src/main/saving/cli-heatmaps'
import { renderTimelapse, TIMELAPSE_FILE, type StepPreview } from '../src/main/saving/timelapse'
import { DEFAULT_OVERLAY } from '../src/shared/heatmap/overlay'
import { loadTracedModel, traceGeneration, type TracedModel } from '../src/main/attention/trace'
import { ModelFolderError, resolveParams } from '../src/main/engine'
import { heatmapWords } from '../src/shared/heatmap/prompt-words'
import { recordBytes } from '../src/shared/attention-record'
import { HEATMAP_METHODS, type HeatmapMethod } from '../src/shared/heatmap/methods'
import { parseGenerationParams, type ExecutionProviderName, type GenerationParamsInput } from '../src/shared/generation'
import { isSchedulerName, SCHEDULER_NAMES } from '../src/shared/schedulers'
import { parseEmphasis, parseWeightList } from '../src/shared/emphasis'
import { findWord } from '../src/shared/tokenizer'
import { parseArgsOrExit, runCli, strictArgs, UsageError } from './cli-args'

const USAGE = `usage: generate --prompt TEXT --out DIR [--negative TEXT] [--seed N] [--steps N] [--guidance X]
                [--scheduler ${SCHEDULER_NAMES.join('|')}] [--width W] [--height H]
                [--model FOLDER] [--provider cpu|cuda|dml|coreml] [--threads N]
                [--heatmaps all|word,word] [--per-head | --method daam|guided|refined] [--timelapse WORD]
                [--weights word=w,word=w] [--weight-steps A-B]`

function integer(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined
  if (!/^\d+$/.test(v.trim())) throw new UsageError(`--${name} must be a non-negative integer, got '${v}'`)
  return Number(v)
}

function decimal(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined
  const n = Number(v)
  if (v.trim() === '' || !Number.isFinite(n)) throw new UsageError(`--${name} must be a number, got '${v}'`)
  return n
}

function parse(argv: string[]) {
  const values = strictArgs(argv, {
    prompt: { type: 'string' },
    negative: { type: 'string' },
    seed: { type: 'string' },
    steps: { type: 'string' },
    guidance: { type: 'string' },
    scheduler: { type: 'string' },
    width: { type: 'string' },
    height: { type: 'string' },
    model: { type: 'string' },
    provider: { type: 'string' },
    threads: { type: 'string' },
    heatmaps: { type: 'string' },
    'per-head': { type: 'boolean' },
    method: { type: 'string' },
    weights: { type: 'string' },
    'weight-steps': { type: 'string' },
    timelapse: { type: 'string' },
    out: { type: 'string' },
  })
  if (values.help) return null
  if (values.prompt === undefined) throw new UsageError('--prompt is required')
  if (values['per-head'] && values.heatmaps === undefined) throw new UsageError('--per-head needs --heatmaps')
  if (values.method !== undefined && !(HEATMAP_METHODS as readonly string[]).includes(values.method))
    throw new UsageError(`--method must be one of ${HEATMAP_METHODS.join(', ')}, got '${values.method}'`)
  if (values.method === 'refined' && values['per-head'])
    throw new UsageError('--method refined and --per-head exclude each other')
  if (values.method !== undefined && values.heatmaps === undefined) throw new UsageError('--method needs --heatmaps')
  if (!values.out) throw new UsageError('--out DIR is required')
  if (values.scheduler !== undefined && !isSchedulerName(values.scheduler)) {
    throw new UsageError(`--scheduler must be one of ${SCHEDULER_NAMES.join(', ')}, got '${values.scheduler}'`)
  }
  const providers: ExecutionProviderName[] = ['cpu', 'cuda', 'dml', 'coreml']
  if (values.provider !== undefined && !providers.includes(values.provider as ExecutionProviderName)) {
    throw new UsageError(`--provider must be one of ${providers.join(', ')}, got '${values.provider}'`)
  }
  const input: GenerationParamsInput = {
    prompt: values.prompt,
    negativePrompt: values.negative,
    seed: integer('seed', values.seed),
    steps: integer('steps', values.steps),
    guidance: decimal('guidance', values.guidance),
    scheduler: values.scheduler as GenerationParamsInput['scheduler'],
    width: integer('width', values.width),
    height: integer('height', values.height),
    weights: values.weights !== undefined ? weightList(values.weights) : undefined,
    weightSteps: values['weight-steps'] !== undefined ? stepWindow(values['weight-steps']) : undefined,
  }
  // Drop unset keys so schema defaults apply.
  for (const k of Object.keys(input) as (keyof GenerationParamsInput)[]) if (input[k] === undefined) delete input[k]
  let emphasised = false
  try {
    parseGenerationParams(input)
    emphasised = [input.prompt, input.negativePrompt ?? ''].some((p) => parseEmphasis(p).spans.length > 0)
  } catch (e) {
    throw new UsageError((e as Error).message)
  }
  return {
    input,
    model: resolve(values.model ?? join(__dirname, '..', 'models', 'daam-shapes')),
    out: resolve(values.out),
    provider: (values.provider ?? 'cpu') as ExecutionProviderName,
    threads: integer('threads', values.threads),
    heatmaps: values.heatmaps,
    perHead: values['per-head'] === true,
    method: (values.method ?? 'daam') as HeatmapMethod,
    /** Weights or emphasis: the U-Net needs attention control. */
    weighted: emphasised || Object.keys(input.weights ?? {}).length > 0,
    timelapse: values.timelapse,
  }
}

function weightList(v: string): Record<string, number> {
  try {
    return parseWeightList(v)
  } catch (e) {
    throw new UsageError(`--weights: ${(e as Error).message}`)
  }
}

function stepWindow(v: string): { from: number; to: number } {
  const m = /^\s*(\d+)\s*-\s*(\d+)\s*$/.exec(v)
  if (!m) throw new UsageError(`--weight-steps must be A-B (denoising rounds, 0-based), got '${v}'`)
  return { from: Number(m[1]), to: Number(m[2]) }
}

async function main(): Promise<number> {
  const args = parseArgsOrExit(parse, USAGE)
  if (typeof args === 'number') return args
  let traced: TracedModel | undefined
  try {
    const tLoad = performance.now()
    // Heat maps need the U-Net patched with attention taps before the session is created.
    const heatmaps = args.heatmaps
    const timelapse = args.timelapse
    traced = await loadTracedModel(args.model, {
      attention: heatmaps !== undefined || timelapse !== undefined || args.weighted,
      perHead: args.perHead,
      refine: args.method === 'refined',
      provider: args.provider,
      threads: args.threads,
    })
    const { model, hook } = traced
    if (hook && hook.taps.length === 0) throw new Error(hook.warning ?? 'this model exposes no cross-attention to map')
    if (hook?.warning) process.stderr.write(`note: ${hook.warning}\n`)
    const loadMs = performance.now() - tLoad
    if (model.provider.fallbackReason) process.stderr.write(`note: using cpu (${model.provider.fallbackReason})\n`)

    // Words not in the prompt are a usage error: found before spending the generation on them.
    const encoding = model.tokenizer.encode(parseEmphasis(resolveParams(model, args.input).prompt).text)
    const unknownWeights = Object.keys(args.input.weights ?? {}).filter((w) => findWord(encoding, w).length === 0)
    if (unknownWeights.length > 0) {
      const known = encoding.words.filter((w) => w.kind === 'word').map((w) => w.text)
      process.stderr.write(
        `error: --weights: not in the prompt: ${unknownWeights.join(', ')} (prompt words: ${known.join(', ')})\n`,
      )
      return 2
    }
    for (const wanted of [heatmaps, timelapse]) {
      if (wanted === undefined) continue
      let missing: string[]
      try {
        const found = heatmapWords(encoding, wanted)
        if (wanted === timelapse && found.words.length !== 1 && found.missing.length === 0)
          throw new Error(`--timelapse takes one word of the prompt, got '${wanted}'`)
        missing = found.missing
      } catch (e) {
        process.stderr.write(`error: ${(e as Error).message}\n${USAGE}\n`)
        return 2
      }
      if (missing.length > 0) {
        const known = encoding.words.filter((w) => w.kind === 'word').map((w) => w.text)
        process.stderr.write(
          `error: --${wanted === heatmaps ? 'heatmaps' : 'timelapse'}: not in the prompt: ${missing.join(', ')} (prompt words: ${known.join(', ')})\n`,
        )
        return 2
      }
    }
    const previews: StepPreview[] = []
    const r = await traceGeneration(traced, args.input, {
      // the time-lapse shows every step's preview
      previewEvery: timelapse !== undefined ? 1 : 0,
      onProgress: (p) => {
        if (p.preview) previews[p.step - 1] = p.preview
        process.stderr.write(
          `\rstep ${p.step}/${p.total}  ${(p.elapsedMs / 1000).toFixed(1)} s  ` +
            (p.warmingUp ? 'warming up      ' : `eta ${(p.etaMs / 1000).toFixed(1)} s   `),
        )
      },
    })
    process.stderr.write('\n')
    mkdirSync(args.out, { recursive: true })
    writeFileSync(join(args.out, 'image.png'), r.png)
    const meta = {
      params: r.params,
      model: r.model,
      provider: r.provider,
      onnxruntime: ort.env.versions.common,
      unetCalls: r.unetCalls,
      guided: r.guided,
      size: { width: r.width, height: r.height },
      timings: { loadMs, ...r.timings } as Record<string, unknown>,
      prompt: {
        tokens: r.encoding.tokens.slice(0, r.encoding.length),
        words: r.encoding.words.map(({ text, start, end, kind, tokenIndices, truncated }) => ({
          text,
          start,
          end,
          kind,
          tokenIndices,
          truncated,
        })),
        droppedWords: r.encoding.droppedWords.map((w) => w.text),
      },
    }
    if (r.record) {
      // the record's size by the memory formula of src/shared/attention-record.ts (issue 16: shown)
      const streams = [r.record.cond, r.record.uncond, r.record.refined].filter((s) => s !== undefined)
      const bytes = recordBytes(
        r.record.layers,
        r.record.steps,
        streams.map((s) => s.tokens),
      )
      Object.assign(meta, {
        record: {
          bytes,
          perHead: args.perHead,
          streams: streams.map((s) => s.name),
          bucketSizes: r.record.layers.map((l) => l.bucketSize),
        },
      })
      process.stderr.write(
        `attention record: ${(bytes / 1e6).toFixed(2)} MB (${streams.map((s) => s.name).join(' + ')}${args.perHead ? ', per head' : ''})\n`,
      )
    }
    if (r.record && heatmaps !== undefined) {
      const tMaps = performance.now()
      const written = await writeCliHeatmaps({
        outDir: args.out,
        spec: heatmaps,
        encoding: r.encoding,
        record: r.record,
        rgb: r.rgb,
        width: r.width,
        height: r.height,
        meta: { ...r.params, model: r.model },
        style: { method: args.method },
      })
      Object.assign(meta, { heatmaps: written })
      meta.timings.heatmapsMs = performance.now() - tMaps
    }
    if (r.record && timelapse !== undefined) {
      const word = heatmapWords(r.encoding, timelapse).words[0]!
      const t = await renderTimelapse({
        record: r.record,
        image: { data: r.rgb, width: r.width, height: r.height, channels: 3 },
        word,
        settings: DEFAULT_OVERLAY,
        previews,
      })
      writeFileSync(join(args.out, TIMELAPSE_FILE), t.webp)
      Object.assign(meta, { timelapse: { file: TIMELAPSE_FILE, word: word.label, frames: t.frames } })
    }
    writeFileSync(join(args.out, 'meta.json'), `${JSON.stringify(meta, null, 2)}\n`)
    process.stdout.write(
      `wrote ${join(args.out, 'image.png')} (${r.width}x${r.height}, ${r.params.scheduler}, ${r.params.steps} steps, ` +
        `${(r.timings.totalMs / 1000).toFixed(2)} s, provider ${r.provider.used})\n`,
    )
    if (r.encoding.droppedWords.length > 0) {
      process.stderr.write(
        `warning: prompt truncated; dropped: ${r.encoding.droppedWords.map((w) => w.text).join(' ')}\n`,
      )
    }
    return 0
  } catch (e) {
    const where = e instanceof ModelFolderError ? ` [${e.code}]` : ''
    process.stderr.write(`error${where}: ${(e as Error).message}\n`)
    return 1
  } finally {
    await traced?.model.release()
  }
}

runCli(main)
