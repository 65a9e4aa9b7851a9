/**
 * Engine benchmark: seconds per denoising step and per image, and peak memory, for the bundled
 * model on ONNX Runtime (CPU); then, in the same run, the Python reference sampler (PyTorch eager,
 * models/training/bench_reference.py) on the same model, steps, sampler and thread count, and
 * the speed ratio.
 *
 *   npx tsx bench/engine.ts [--model DIR] [--steps 20] [--scheduler ddim] [--guidance 5]
 *                           [--runs 3] [--rounds 3] [--threads N] [--python /usr/bin/python3] [--spinning]
 *
 * The reference script (written by the model helper) is run as
 *   python -m models.training.bench_reference --steps N --guidance G --runs R --threads T
 * from the repository root; it samples with DDIM (its only sampler), so compare with
 * --scheduler ddim (the default). Its last stdout line is JSON with seconds_per_image (best of
 * its runs) and seconds_per_step. Both sides are reported as best-of-runs; the TS side also
 * gives the median. Rounds alternate TS and Python so that background load hits both alike; the
 * ratio is reported best vs best and per round.
 */
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { cpus } from 'node:os'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { loadTracedModel, traceGeneration, type TracedModel } from '../src/main/attention/trace'
import { isSchedulerName, type SchedulerName } from '../src/shared/schedulers'

const root = join(__dirname, '..')
const { values } = parseArgs({
  options: {
    model: { type: 'string', default: join(root, 'models', 'daam-shapes') },
    steps: { type: 'string', default: '20' },
    scheduler: { type: 'string', default: 'ddim' },
    guidance: { type: 'string', default: '5' },
    runs: { type: 'string', default: '3' },
    rounds: { type: 'string', default: '3' },
    threads: { type: 'string', default: String(Math.min(cpus().length, 8)) },
    python: { type: 'string', default: '/usr/bin/python3' },
    spinning: { type: 'boolean', default: false },
  },
})
const steps = Number(values.steps)
const runs = Number(values.runs)
const rounds = Number(values.rounds)
const threads = Number(values.threads)
const guidance = Number(values.guidance)
if (!isSchedulerName(values.scheduler)) throw new Error(`unknown scheduler '${values.scheduler}'`)
const scheduler: SchedulerName = values.scheduler
const modelDir = resolve(values.model)

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)]
}

interface OrtRound {
  bestImage: number
  bestStep: number
  images: number[]
  steps: number[]
  decode: number[]
  unetCalls: number
}

/** `runs` images on an already loaded model; per-image wall time includes text, loop, decode, PNG. */
async function ortRound(traced: TracedModel, round: number): Promise<OrtRound> {
  const params = { prompt: 'a red circle above a blue square', steps, guidance, scheduler }
  const out: OrtRound = { bestImage: Infinity, bestStep: Infinity, images: [], steps: [], decode: [], unetCalls: 0 }
  for (let i = 0; i < runs; i++) {
    const r = await traceGeneration(traced, { ...params, seed: round * runs + i + 1 })
    const image = r.timings.totalMs / 1000
    const step = r.timings.denoiseMs / 1000 / r.timings.stepMs.length
    out.images.push(image)
    out.steps.push(step)
    out.decode.push(r.timings.decodeMs / 1000)
    out.unetCalls = r.unetCalls
    if (image < out.bestImage) {
      out.bestImage = image
      out.bestStep = step
    }
  }
  return out
}

function benchPython(): { perImage: number; perStep?: number; peakRssMb?: number } | string {
  const script = join(root, 'models', 'training', 'bench_reference.py')
  if (!existsSync(script)) return `reference sampler not found (${script})`
  // Run the module under a wrapper that appends the process's peak RSS as one more JSON line.
  const wrapper = [
    'import json, resource, runpy, sys',
    "sys.argv = ['bench_reference'] + sys.argv[1:]",
    "runpy.run_module('models.training.bench_reference', run_name='__main__')",
    "print(json.dumps({'peak_rss_mb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))",
  ].join('\n')
  const args = [
    '-c',
    wrapper,
    '--steps',
    String(steps),
    '--guidance',
    String(guidance),
    '--runs',
    String(runs),
    '--threads',
    String(threads),
  ]
  const r = spawnSync(values.python, args, { cwd: root, encoding: 'utf8', timeout: 1_800_000 })
  if (r.status !== 0)
    return `reference sampler failed (exit ${r.status}): ${(r.stderr || r.stdout).trim().split('\n').slice(-3).join(' | ')}`
  const lines = r.stdout.trim().split('\n')
  const rss = lines.pop() ?? ''
  const result = lines.pop() ?? ''
  try {
    const j = JSON.parse(result) as { seconds_per_image: number; seconds_per_step?: number }
    const m = JSON.parse(rss) as { peak_rss_mb: number }
    return { perImage: j.seconds_per_image, perStep: j.seconds_per_step, peakRssMb: m.peak_rss_mb }
  } catch {
    return `reference sampler printed no JSON result line (last line: '${result.slice(0, 200)}')`
  }
}

;(async () => {
  console.log(
    `model ${modelDir}\n${steps} steps, ${scheduler}, guidance ${guidance}, ${rounds} rounds x ${runs} runs, ${threads} threads, ` +
      `${cpus().length} CPUs (${cpus()[0]?.model ?? '?'})`,
  )
  const tLoad = performance.now()
  // The plain U-Net, like the reference sampler: the hook's cost is bench/capture-overhead.ts's.
  const traced = await loadTracedModel(modelDir, { attention: false, threads, spinning: values.spinning })
  const loadS = (performance.now() - tLoad) / 1000
  await traceGeneration(traced, { prompt: 'warm-up', steps: 2, guidance, scheduler }) // first-run allocations
  // Rounds alternate the two samplers so that load from other processes hits both alike.
  const ort: OrtRound[] = []
  const py: { perImage: number; perStep?: number; peakRssMb?: number }[] = []
  let pyError: string | undefined
  for (let round = 0; round < rounds; round++) {
    ort.push(await ortRound(traced, round))
    if (pyError) continue
    const p = benchPython()
    if (typeof p === 'string') pyError = p
    else py.push(p)
  }
  await traced.model.release()
  const best = ort.reduce((a, b) => (b.bestImage < a.bestImage ? b : a))
  const all = (k: 'images' | 'steps' | 'decode') => ort.flatMap((r) => r[k])
  console.log(`TypeScript + ONNX Runtime (CPU, thread spinning ${values.spinning ? 'on' : 'off'}):`)
  console.log(
    `  load ${loadS.toFixed(2)} s; per step ${(median(all('steps')) * 1000).toFixed(1)} ms median, ${(best.bestStep * 1000).toFixed(1)} ms best ` +
      `(${best.unetCalls} U-Net calls per image); decode ${(median(all('decode')) * 1000).toFixed(1)} ms`,
  )
  console.log(
    `  per image ${median(all('images')).toFixed(3)} s median, ${best.bestImage.toFixed(3)} s best; peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`,
  )
  if (pyError || py.length === 0) {
    console.log(`PyTorch eager reference: ${pyError ?? 'not run'}`)
    return
  }
  const pBest = py.reduce((a, b) => (b.perImage < a.perImage ? b : a))
  console.log(`PyTorch eager reference (same model and weights, DDIM, steps, guidance, threads):`)
  if (scheduler !== 'ddim') console.log(`  note: the reference samples with DDIM; this run used ${scheduler}`)
  console.log(
    `  per image ${pBest.perImage.toFixed(3)} s best` +
      (pBest.perStep !== undefined ? `; per step ${(pBest.perStep * 1000).toFixed(1)} ms (image time / steps)` : '') +
      (pBest.peakRssMb !== undefined ? `; peak RSS ${pBest.peakRssMb.toFixed(0)} MB` : ''),
  )
  const ratios = py.map((p, i) => p.perImage / ort[i].bestImage)
  console.log(
    `speed-up TS/ORT vs PyTorch eager per image: ${(pBest.perImage / best.bestImage).toFixed(2)}x best vs best; ` +
      `per round ${ratios.map((r) => r.toFixed(2)).join(', ')} (median ${median(ratios).toFixed(2)}x)`,
  )
})()
