/**
 * Cost at Stable Diffusion scale (issue 14 §3), on an SD-1.5-shape pipeline with random weights
 * (860 M-parameter U-Net, CLIP-L-shape text encoder, SD's VAE decoder; built once and cached by
 * bench/sd15-shape.ts), fp32 and fp16, at 512²:
 *
 *   npm run bench:sd15 -- [--variants fp32,fp16] [--steps 2] [--calls 3] [--size 512] [--threads 2] [--dir /var/tmp/sd15-shape]
 *
 * Each measurement runs in a fresh process (peak RSS is per process), one after the other:
 * - `unet`: seconds per U-Net call at batch 2 (classifier-free guidance), the plain U-Net and the
 *   attention-hooked one (the app's patch: taps, negative half, control input) in the same process,
 *   after one warm-up call each (the first calls of a session are slower, see bench:warm-up),
 *   alternating and rotating the order; the hooked/plain ratio is the median of paired ratios.
 *   From the hooked outputs it also records a 50-step, 10-word record (the app's recorder and
 *   planner, negative stream included) and compares its bytes with recordBytes() of
 *   src/shared/attention-record.ts, then times the heat maps of all 10 words at image size.
 * - `gen`: one whole generation through the app's path (loadTracedModel + traceGeneration, as the
 *   CLI and the model manager run it; the session options and session lifetimes the app uses),
 *   with and without the hook: peak RSS (getrusage), RSS after loading, load and step times. Few
 *   steps (default 2): each step is one U-Net call; the peak does not grow with steps.
 * - `--tune [--tune-size 256] [--rounds 1] [--only app,spinning]`: the session settings compared (see childTune).
 * The weights on disk (every .onnx and .onnx_data of the three components) are the yardstick of
 * the memory goal: hooked peak ≤ 2× the weights.
 */
import { spawnSync } from 'node:child_process'
import { loadavg } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
// First: ONNX Runtime telemetry off before the binding loads.
import '../src/main/engine/telemetry'
import * as ort from 'onnxruntime-node'
import { prepareAttentionHook } from '../src/main/attention/hook'
import { TOKEN_SCALE_INPUT } from '../src/main/attention/patch-unet'
import { AttentionRecorder } from '../src/main/attention/recorder'
import { loadTracedModel, traceGeneration } from '../src/main/attention/trace'
import { withFloat32IO } from '../src/main/engine/float32-io'
import { modelWeightBytes } from '../src/main/engine/memory-estimate'
import { inspectModelFolder } from '../src/main/engine/model-folder'
import { sessionOptions } from '../src/main/engine/session-options'
import { recordBytes, type AttentionRecord } from '../src/shared/attention-record'
import { Heatmaps } from '../src/shared/heatmap/heatmaps'
import { DEFAULT_SD15_DIR, ensureSd15Shape, type Sd15Variant } from './sd15-shape'

const { values } = parseArgs({
  options: {
    dir: { type: 'string', default: DEFAULT_SD15_DIR },
    variants: { type: 'string', default: 'fp32,fp16' },
    steps: { type: 'string', default: '2' },
    calls: { type: 'string', default: '3' },
    size: { type: 'string', default: '512' },
    threads: { type: 'string', default: '2' },
    child: { type: 'string' },
    model: { type: 'string' },
    hook: { type: 'string', default: '1' },
    tune: { type: 'boolean', default: false },
    'tune-size': { type: 'string', default: '256' },
    rounds: { type: 'string', default: '1' },
    only: { type: 'string' },
    variant: { type: 'string', default: 'app' },
  },
})
const GiB = 1024 ** 3
const RECORD_STEPS = 50
const WORDS = 10
const PROMPT = 'a red circle above a blue square beside a green triangle under a yellow star'
const size = Number(values.size)
const threads = Number(values.threads)

const peakRss = (): number => process.resourceUsage().maxRSS * 1024
const median = (a: number[]): number => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]
const streamBytes = (r: AttentionRecord): number =>
  [r.cond, r.uncond, r.refined].reduce((s, st) => s + (st ? st.data.reduce((a, d) => a + d.byteLength, 0) : 0), 0)
const streamTokens = (r: AttentionRecord): number[] =>
  [r.cond, r.uncond, r.refined].filter((s) => s !== undefined).map((s) => s.tokens)

/** Bytes of weights on disk: the three components' model files and external data. */
const weightsOnDisk = (dir: string): number => modelWeightBytes(inspectModelFolder(dir))

/** Plain vs hooked U-Net calls, the 50-step record and the heat maps (one process). */
async function childUnet(dir: string): Promise<void> {
  const unetPath = join(dir, 'unet', 'model.onnx')
  const hook = prepareAttentionHook(unetPath, { negative: true, control: true })
  if (hook.taps.length === 0) throw new Error(`no taps: ${hook.warning}`)
  const opts = sessionOptions({ threads, externalDataDir: join(dir, 'unet'), weightBytes: weightsOnDisk(dir) })
  const create = (source: string | Uint8Array) =>
    typeof source === 'string' ? ort.InferenceSession.create(source, opts) : ort.InferenceSession.create(source, opts)
  const plain = await create(withFloat32IO(unetPath))
  const hooked = await create(withFloat32IO(hook.model))
  const latent = size / 8
  const B = 2
  const rnd = (n: number): Float32Array => Float32Array.from({ length: n }, () => Math.random() * 2 - 1)
  const feeds = (t: number): Record<string, ort.Tensor> => ({
    sample: new ort.Tensor('float32', rnd(B * 4 * latent * latent), [B, 4, latent, latent]),
    timestep: new ort.Tensor('int64', BigInt64Array.from([BigInt(t), BigInt(t)]), [B]),
    encoder_hidden_states: new ort.Tensor('float32', rnd(B * 77 * 768), [B, 77, 768]),
  })
  const ones = new ort.Tensor('float32', new Float32Array(B * 77).fill(1), [B, 77])
  const time = async (s: ort.InferenceSession, f: Record<string, ort.Tensor>) => {
    const t0 = performance.now()
    const out = await s.run(f)
    return { ms: performance.now() - t0, out }
  }
  const warmPlain = (await time(plain, feeds(999))).ms
  const warmHooked = (await time(hooked, { ...feeds(999), [TOKEN_SCALE_INPUT]: ones })).ms
  const plainMs: number[] = []
  const hookedMs: number[] = []
  let last: Record<string, ort.Tensor> = {}
  for (let i = 0; i < Number(values.calls); i++) {
    const f = feeds(900 - i * 100)
    // rotate the order so neither kind systematically runs second
    for (const kind of i % 2 ? (['hooked', 'plain'] as const) : (['plain', 'hooked'] as const)) {
      if (kind === 'plain') plainMs.push((await time(plain, f)).ms)
      else {
        const r = await time(hooked, { ...f, [TOKEN_SCALE_INPUT]: ones })
        hookedMs.push(r.ms)
        last = r.out
      }
    }
  }
  const ratios = hookedMs.map((h, i) => h / plainMs[i])

  // A 50-step record from real tap outputs (the same call's outputs at every step).
  const recorder = new AttentionRecorder({ taps: hook.taps })
  const tokens = WORDS + 2 // BOS + one token per word + EOS
  const timesteps = Array.from({ length: RECORD_STEPS }, (_, i) => 981 - 20 * i)
  recorder.start({
    timesteps,
    latentHeight: latent,
    latentWidth: latent,
    encoding: { length: tokens },
    negativeEncoding: { length: 2 },
  })
  for (let i = 0; i < RECORD_STEPS; i++)
    recorder.step({ stepIndex: i, timestep: timesteps[i], outputs: last, part: 'both' })
  recorder.end({ reason: 'done', completedSteps: RECORD_STEPS })
  const record = recorder.record!
  const words = Array.from({ length: WORDS }, (_, i) => ({ label: `w${i}`, tokens: [i + 1] }))
  const hm = new Heatmaps(record, size, size)
  const hmFirst = performance.now()
  let maps = hm.wordMaps(words).maps // includes aggregating the record, as the first view after a generation
  const firstMs = performance.now() - hmFirst
  const again: number[] = []
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now()
    maps = hm.wordMaps(words, {}, maps).maps
    again.push(performance.now() - t0)
  }
  console.log(
    JSON.stringify({
      taps: hook.taps.length,
      warmPlain,
      warmHooked,
      plainMs,
      hookedMs,
      ratio: median(ratios),
      recordMeasured: streamBytes(record),
      recordFormula: recordBytes(record.layers, RECORD_STEPS, streamTokens(record)),
      recordTokens: streamTokens(record),
      heatmapFirstMs: firstMs,
      heatmapMs: median(again),
      peakRss: peakRss(),
    }),
  )
}

/** One generation on the app's path, hooked or not. */
async function childGen(dir: string, hook: boolean): Promise<void> {
  const t0 = performance.now()
  const traced = await loadTracedModel(dir, { attention: hook, negative: true, threads })
  const loadMs = performance.now() - t0
  const loadedRss = process.memoryUsage().rss
  const loadPeak = peakRss()
  const g = await traceGeneration(traced, {
    prompt: PROMPT,
    steps: Number(values.steps),
    width: size,
    height: size,
    seed: 1,
  })
  const r = g.record
  console.log(
    JSON.stringify({
      hook,
      loadMs,
      loadedRss,
      loadPeak,
      peakRss: peakRss(),
      words: g.encoding.words.length,
      timings: g.timings,
      unetCalls: g.unetCalls,
      recordMeasured: r ? streamBytes(r) : 0,
      recordFormula: r ? recordBytes(r.layers, r.steps, streamTokens(r)) : 0,
    }),
  )
  await traced.model.release()
}

/**
 * `--tune`: the session settings the app could pick, each in a fresh process on the U-Net and the
 * VAE decoder at `--tune-size` (default 256², quicker than 512²): session creation, RSS after
 * creating both, median U-Net call (batch 2) and VAE decode, peak RSS. The app's choice is in
 * sessionOptions / memoryPolicy; this is how it was made.
 */
const TUNE_VARIANTS: Record<string, (o: ort.InferenceSession.SessionOptions) => void> = {
  app: () => {},
  'arena+pattern on': (o) => Object.assign(o, { enableCpuMemArena: true, enableMemPattern: true }),
  'level all': (o) => Object.assign(o, { graphOptimizationLevel: 'all' }),
  'level basic': (o) => Object.assign(o, { graphOptimizationLevel: 'basic' }),
  'no prepacking': (o) => ((o.extra as { session: Record<string, unknown> }).session.disable_prepacking = '1'),
  spinning: (o) => delete (o.extra as { session: Record<string, unknown> }).session.intra_op,
  '1 thread': (o) => Object.assign(o, { intraOpNumThreads: 1 }),
}

async function childTune(dir: string, variant: string): Promise<void> {
  const opts = sessionOptions({ threads, weightBytes: weightsOnDisk(dir) })
  TUNE_VARIANTS[variant](opts)
  const t0 = performance.now()
  const unet = await ort.InferenceSession.create(join(dir, 'unet', 'model.onnx'), opts)
  const vae = await ort.InferenceSession.create(join(dir, 'vae_decoder', 'model.onnx'), opts)
  const createMs = performance.now() - t0
  const createdRss = process.memoryUsage().rss
  const latent = Number(values['tune-size']) / 8
  const B = 2
  const f = {
    sample: new ort.Tensor('float32', new Float32Array(B * 4 * latent * latent).fill(0.1), [B, 4, latent, latent]),
    timestep: new ort.Tensor('int64', BigInt64Array.from([500n, 500n]), [B]),
    encoder_hidden_states: new ort.Tensor('float32', new Float32Array(B * 77 * 768).fill(0.1), [B, 77, 768]),
  }
  const z = {
    latent_sample: new ort.Tensor('float32', new Float32Array(4 * latent * latent).fill(0.1), [1, 4, latent, latent]),
  }
  const unetMs: number[] = []
  const vaeMs: number[] = []
  for (let i = 0; i < 4; i++) {
    let t = performance.now()
    await unet.run(f)
    unetMs.push(performance.now() - t)
    t = performance.now()
    await vae.run(z)
    vaeMs.push(performance.now() - t)
  }
  console.log(
    JSON.stringify({
      createMs,
      createdRss,
      unetFirst: unetMs[0],
      unetMs: median(unetMs.slice(1)),
      vaeMs: median(vaeMs.slice(1)),
      peakRss: peakRss(),
    }),
  )
}

function tune(): void {
  const dir = ensureSd15Shape('fp32', values.dir)
  console.log(
    `session settings on the SD-1.5-shape fp32 U-Net + VAE at ${values['tune-size']}², load average ${loadavg()[0].toFixed(1)}`,
  )
  for (let round = 0; round < Number(values.rounds); round++) {
    for (const v of values.only ? values.only.split(',') : Object.keys(TUNE_VARIANTS)) {
      const r = runChild([
        '--child',
        'tune',
        '--variant',
        v,
        '--model',
        dir,
        '--threads',
        String(threads),
        '--tune-size',
        values['tune-size'],
      ])
      if (!r) continue
      console.log(
        `${v.padEnd(18)} create ${s(r.createMs)}, RSS ${gb(r.createdRss)}; U-Net call ${s(r.unetMs)} (first ${s(r.unetFirst)}), ` +
          `VAE ${s(r.vaeMs)}; peak ${gb(r.peakRss)}`,
      )
    }
  }
}

function runChild(args: string[]): Record<string, unknown> | null {
  const r = spawnSync('nice', [process.execPath, '--import', 'tsx', __filename, ...args], {
    encoding: 'utf8',
    maxBuffer: 1 << 24,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const line = r.stdout.split('\n').find((l) => l.startsWith('{'))
  if (!line) {
    console.log(`  failed (${r.signal ?? r.status}): ${r.stderr.trim().split('\n').slice(-6).join(' | ')}`)
    return null
  }
  return JSON.parse(line) as Record<string, unknown>
}

const gb = (v: unknown): string => `${(Number(v) / GiB).toFixed(2)} GiB`
const s = (ms: unknown): string => `${(Number(ms) / 1000).toFixed(1)} s`

function main(): void {
  const common = [
    '--size',
    String(size),
    '--threads',
    String(threads),
    '--steps',
    values.steps,
    '--calls',
    values.calls,
  ]
  console.log(
    `SD-1.5 shape at ${size}², ${threads} threads, batch 2 (guidance 7.5); load average ${loadavg()[0].toFixed(1)}`,
  )
  for (const variant of values.variants.split(',') as Sd15Variant[]) {
    const dir = ensureSd15Shape(variant, values.dir)
    const weights = weightsOnDisk(dir)
    console.log(`\n== ${variant}: ${dir}, weights on disk ${gb(weights)}`)
    const u = runChild([...common, '--child', 'unet', '--model', dir])
    if (u) {
      const p = u.plainMs as number[]
      const h = u.hookedMs as number[]
      console.log(
        `U-Net call (batch 2): plain median ${s(median(p))} [${p.map(s).join(', ')}], hooked median ${s(median(h))} ` +
          `[${h.map(s).join(', ')}]; first calls ${s(u.warmPlain)} / ${s(u.warmHooked)}`,
      )
      console.log(`hooked/plain: median of paired ratios ${(u.ratio as number).toFixed(3)} (${u.taps} layers tapped)`)
      console.log(
        `record, ${RECORD_STEPS} steps, ${WORDS} words (tokens per stream ${(u.recordTokens as number[]).join(' + ')}): ` +
          `measured ${u.recordMeasured} bytes, formula ${u.recordFormula} bytes`,
      )
      console.log(
        `heat maps, all ${WORDS} words at ${size}²: ${Number(u.heatmapMs).toFixed(1)} ms (first view, with aggregation, ${Number(u.heatmapFirstMs).toFixed(1)} ms)`,
      )
    }
    const peaks: Record<string, number> = {}
    for (const hook of ['0', '1']) {
      const g = runChild([...common, '--child', 'gen', '--model', dir, '--hook', hook])
      if (!g) continue
      const t = g.timings as { textEncoderMs: number; stepMs: number[]; decodeMs: number; totalMs: number }
      peaks[hook] = Number(g.peakRss)
      console.log(
        `generation ${hook === '1' ? 'hooked' : 'plain '} (${values.steps} steps): peak RSS ${gb(g.peakRss)} ` +
          `(${(Number(g.peakRss) / weights).toFixed(2)}× the weights), after load ${gb(g.loadedRss)} (load peak ${gb(g.loadPeak)}); ` +
          `load ${s(g.loadMs)}, text ${s(t.textEncoderMs)}, steps [${t.stepMs.map(s).join(', ')}], decode ${s(t.decodeMs)}` +
          (hook === '1' ? `; record ${g.recordMeasured} bytes (formula ${g.recordFormula})` : ''),
      )
    }
    if (peaks['0'] && peaks['1'])
      console.log(
        `peak hooked/plain ${(peaks['1'] / peaks['0']).toFixed(3)}; goal hooked ≤ 2× weights = ${gb(2 * weights)}`,
      )
  }
}

if (values.child === 'unet') void childUnet(values.model!)
else if (values.child === 'gen') void childGen(values.model!, values.hook === '1')
else if (values.child === 'tune') void childTune(values.model!, values.variant)
else if (values.tune) tune()
else main()
