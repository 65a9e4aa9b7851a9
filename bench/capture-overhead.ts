/**
 * Cost of the attention hook on a real U-Net, in one run:
 *   - plain vs hooked U-Net call (taps and attention control, the scale fed as ones) (batch 2, classifier-free guidance shape), alternated so load
 *     changes on the machine hit both equally; ratio goal <= 1.03. Two sessions of each kind,
 *     and the same statistic between the two identical sessions as an A/A control: it shows how
 *     far apart two sessions can be without any hook (the noise floor of the ratio);
 *   - the same with the recorder's JS-side capture (float16 transposition) included;
 *   - heat-map time per word and for all words of the record just captured, at image size.
 * Run: npx tsx bench/capture-overhead.ts [--model models/daam-shapes] [--latent 16] [--iters 20] [--control 0]
 */
import * as fs from 'node:fs'
import * as path from 'node:path'
// First: ONNX Runtime telemetry off before the binding loads.
import '../src/main/engine/telemetry'
import * as ort from 'onnxruntime-node'
import { patchUnet, TOKEN_SCALE_INPUT } from '../src/main/attention/patch-unet'
import { sessionOptions } from '../src/main/engine/session-options'
import { AttentionRecorder } from '../src/main/attention/recorder'
import { Heatmaps } from '../src/shared/heatmap/heatmaps'
import { aggregateTokens } from '../src/shared/heatmap/aggregate'

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback
}

async function main(): Promise<void> {
  const modelDir = arg('model', 'models/daam-shapes')
  const latent = Number(arg('latent', '16'))
  const iters = Number(arg('iters', '20'))
  const unetPath = path.join(modelDir, 'unet', 'model.onnx')
  if (!fs.existsSync(unetPath)) throw new Error(`no U-Net at ${unetPath}`)
  const bytes = fs.readFileSync(unetPath)
  const t0 = performance.now()
  // The app's patch: taps plus attention control (a per-token scale the pipeline feeds as ones);
  // --control 0: taps only, as before attention control; --refine: also the self-attention-refined
  // stream (issue 16, recorded with the refinedMaps service option)
  const withControl = arg('control', '1') !== '0'
  const patch = patchUnet(bytes, { control: withControl, refine: process.argv.includes('--refine') })
  const patchMs = performance.now() - t0
  if (patch.warning) throw new Error(patch.warning)
  // The app's session options (threads not spinning: with four sessions on two cores the spinning
  // threads of the three idle ones would slow the one that runs, by an amount that differs per session).
  const opts = sessionOptions({ threads: 2, externalDataDir: path.dirname(unetPath) })
  const plains = [await ort.InferenceSession.create(unetPath, opts), await ort.InferenceSession.create(unetPath, opts)]
  const hookeds = [
    await ort.InferenceSession.create(patch.model, opts),
    await ort.InferenceSession.create(patch.model, opts),
  ]
  const plain = plains[0]

  const meta = Object.fromEntries(plain.inputMetadata.map((m) => [m.name, m]))
  const ehsMeta = meta.encoder_hidden_states
  const dim = ehsMeta?.isTensor && typeof ehsMeta.shape[2] === 'number' ? ehsMeta.shape[2] : 768
  const tMeta = meta.timestep
  const B = 2,
    T = 77,
    C = 4
  const rnd = (n: number): Float32Array => Float32Array.from({ length: n }, () => Math.random() * 2 - 1)
  const timestep = (v: number): ort.Tensor => {
    if (tMeta?.isTensor && tMeta.type === 'int64')
      return new ort.Tensor('int64', BigInt64Array.from([BigInt(v), BigInt(v)]), [B])
    if (tMeta?.isTensor && tMeta.shape.length === 0) return new ort.Tensor('float32', Float32Array.from([v]), [])
    return new ort.Tensor('float32', Float32Array.from([v, v]), [B])
  }
  const feeds = (step: number): Record<string, ort.Tensor> => ({
    sample: new ort.Tensor('float32', rnd(B * C * latent * latent), [B, C, latent, latent]),
    timestep: timestep(999 - step * 50),
    encoder_hidden_states: new ort.Tensor('float32', rnd(B * T * dim), [B, T, dim]),
  })

  const ones = new ort.Tensor('float32', new Float32Array(B * T).fill(1), [B, T])
  const withScale = (f: Record<string, ort.Tensor>): Record<string, ort.Tensor> =>
    withControl ? { ...f, [TOKEN_SCALE_INPUT]: ones } : f
  for (let i = 0; i < 3; i++) {
    for (const s of plains) await s.run(feeds(i))
    for (const s of hookeds) await s.run(withScale(feeds(i)))
  }
  // Driven like the pipeline drives it: a plan of `iters` steps, a 12-token prompt, no negative maps.
  const recorder = new AttentionRecorder({ taps: patch.taps })
  recorder.start({
    timesteps: Array.from({ length: iters }, (_, i) => 999 - i * 50),
    latentHeight: latent,
    latentWidth: latent,
    encoding: { length: 12 },
    negativeEncoding: null,
  })
  // per iteration: [plain 0, plain 1] and [hooked 0, hooked 1] call times
  const plainPair: number[][] = [],
    hookedPair: number[][] = [],
    captureMs: number[] = []
  const order = [
    { kind: 'plain', k: 0 },
    { kind: 'hooked', k: 0 },
    { kind: 'plain', k: 1 },
    { kind: 'hooked', k: 1 },
  ] as const
  for (let i = 0; i < iters; i++) {
    const f = feeds(i)
    plainPair.push([0, 0])
    hookedPair.push([0, 0])
    // rotate the order so no session systematically runs on a warmer cache
    for (let j = 0; j < order.length; j++) {
      const { kind, k } = order[(i + j) % order.length]
      const s = performance.now()
      if (kind === 'plain') {
        await plains[k].run(f)
        plainPair[i][k] = performance.now() - s
        continue
      }
      const out = await hookeds[k].run(withScale(f))
      hookedPair[i][k] = performance.now() - s
      if (k !== 0) continue
      const c = performance.now()
      recorder.step({ stepIndex: i, timestep: 999 - i * 50, outputs: out, part: 'both' })
      captureMs.push(performance.now() - c)
    }
  }
  const plainMs = plainPair.flat(),
    hookedMs = hookedPair.flat()
  recorder.end({ reason: 'done', completedSteps: iters })
  const record = recorder.record
  if (!record) throw new Error('no record')
  console.log(
    `model ${unetPath}: ${patch.taps.length} cross-attention layers tapped${withControl ? ' and scaled (control)' : ''} (${patch.selfAttention} self-attention left alone); patching took ${patchMs.toFixed(1)} ms`,
  )
  console.log(`latent ${latent}x${latent}, batch ${B}, ${iters} rounds of 4 calls (2 plain, 2 hooked sessions)`)
  // Medians: on a shared machine single calls get descheduled; a median per call and the median
  // of the paired ratios (same inputs, back to back) are robust to that, a sum is not.
  const med = (a: number[]): number => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]
  const both = (p: number[]): number => p[0] + p[1]
  const pairRatio = med(hookedPair.map((h, i) => both(h) / both(plainPair[i])))
  const pairRatioCapture = med(hookedPair.map((h, i) => (both(h) + 2 * captureMs[i]) / both(plainPair[i])))
  const control = med(plainPair.map((p) => p[1] / p[0]))
  const controlHooked = med(hookedPair.map((h) => h[1] / h[0]))
  const sum = (a: number[]): number => a.reduce((x, y) => x + y, 0)
  console.log(
    `plain U-Net:   median ${med(plainMs).toFixed(2)} ms/call (mean ${(sum(plainMs) / plainMs.length).toFixed(2)})`,
  )
  console.log(
    `hooked U-Net:  median ${med(hookedMs).toFixed(2)} ms/call (mean ${(sum(hookedMs) / hookedMs.length).toFixed(2)})`,
  )
  console.log(
    `JS capture:    median ${med(captureMs).toFixed(3)} ms/call (first call, with planning: ${captureMs[0].toFixed(2)} ms)`,
  )
  console.log(
    `ratio hooked/plain: median of paired ratios ${pairRatio.toFixed(3)}, ratio of medians ${(med(hookedMs) / med(plainMs)).toFixed(3)}, ratio of sums ${(sum(hookedMs) / sum(plainMs)).toFixed(3)} (goal <= 1.03)`,
  )
  console.log(`ratio incl. JS capture: median of paired ratios ${pairRatioCapture.toFixed(3)}`)
  console.log(
    `A/A control, same statistic between two identical sessions: plain ${control.toFixed(3)}, hooked ${controlHooked.toFixed(3)} (the noise floor of one session vs another)`,
  )
  const size = latent * 8
  const hm = new Heatmaps(record, size, size)
  const words = Array.from({ length: 10 }, (_, i) => ({ label: `w${i}`, tokens: [i + 1] }))
  const aggTimes: number[] = []
  for (let i = 0; i < 7; i++) {
    const a = performance.now()
    aggregateTokens(record)
    aggTimes.push(performance.now() - a)
  }
  const aggMs = aggTimes.sort((a, b) => a - b)[3] // median; the first call includes JIT warm-up
  hm.tokenMaps()
  let s = performance.now()
  let maps = hm.wordMaps(words).maps
  const runs = 20
  s = performance.now()
  for (let i = 0; i < runs; i++) hm.wordMaps([words[0]], {}, maps)
  const oneMs = (performance.now() - s) / runs
  s = performance.now()
  for (let i = 0; i < runs; i++) maps = hm.wordMaps(words, {}, maps).maps
  const allMs = (performance.now() - s) / runs
  console.log(
    `heat maps at ${size}x${size} from this record: aggregation (median of 7) ${aggMs.toFixed(2)} ms, one word ${oneMs.toFixed(2)} ms, all 10 words ${allMs.toFixed(2)} ms`,
  )
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e)
  process.exit(1)
})
