/**
 * Engine benchmark: seconds per denoising step and per image, and peak memory, for the bundled
 * model on ONNX Runtime (CPU); then, in the same run, the Python reference sampler (PyTorch eager,
 * models/training/bench_reference.py) on the same model, steps, sampler and thread count, and
 * the speed ratio.
 *
 *   npx tsx bench/engine.ts [--model DIR] [--steps 20] [--scheduler ddim] [--guidance 5]
 *                           [--runs 3] [--threads N] [--python /usr/bin/python3] [--spinning]
 *
 * The reference script (written by the model helper) is run as
 *   python -m models.training.bench_reference --steps N --guidance G --runs R --threads T
 * from the repository root; it samples with DDIM (its only sampler), so compare with
 * --scheduler ddim (the default). Its last stdout line is JSON with seconds_per_image (best of
 * its runs) and seconds_per_step. Both sides are reported as best-of-runs; the TS side also
 * gives the median.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { LoadedModel, runPipeline } from '../src/main/engine';
import { isSchedulerName, type SchedulerName } from '../src/shared/schedulers';

const root = join(__dirname, '..');
const { values } = parseArgs({
  options: {
    model: { type: 'string', default: join(root, 'models', 'daam-shapes') },
    steps: { type: 'string', default: '20' },
    scheduler: { type: 'string', default: 'ddim' },
    guidance: { type: 'string', default: '5' },
    runs: { type: 'string', default: '3' },
    threads: { type: 'string', default: String(Math.min(cpus().length, 8)) },
    python: { type: 'string', default: '/usr/bin/python3' },
    spinning: { type: 'boolean', default: false },
  },
});
const steps = Number(values.steps);
const runs = Number(values.runs);
const threads = Number(values.threads);
const guidance = Number(values.guidance);
if (!isSchedulerName(values.scheduler)) throw new Error(`unknown scheduler '${values.scheduler}'`);
const scheduler: SchedulerName = values.scheduler;
const modelDir = resolve(values.model);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function benchOrt() {
  const tLoad = performance.now();
  const model = await LoadedModel.load(modelDir, { threads, spinning: values.spinning });
  const loadS = (performance.now() - tLoad) / 1000;
  const params = { prompt: 'a red circle above a blue square', seed: 1, steps, guidance, scheduler };
  await runPipeline(model, { ...params, steps: 2 }); // warm-up: first-run allocations and kernels
  const image: number[] = [];
  const best = { image: Infinity, step: Infinity };
  const step: number[] = [];
  const decode: number[] = [];
  let calls = 0;
  for (let i = 0; i < runs; i++) {
    const r = await runPipeline(model, { ...params, seed: i + 1 });
    image.push(r.timings.totalMs / 1000);
    step.push(r.timings.denoiseMs / 1000 / r.timings.stepMs.length);
    decode.push(r.timings.decodeMs / 1000);
    calls = r.unetCalls;
    if (r.timings.totalMs / 1000 < best.image) {
      best.image = r.timings.totalMs / 1000;
      best.step = r.timings.denoiseMs / 1000 / r.timings.stepMs.length;
    }
  }
  await model.release();
  return {
    loadS,
    perImage: median(image),
    perStep: median(step),
    bestImage: best.image,
    bestStep: best.step,
    decode: median(decode),
    unetCalls: calls,
    peakRssMb: process.resourceUsage().maxRSS / 1024,
  };
}

function benchPython(): { perImage: number; perStep?: number; peakRssMb?: number } | string {
  const script = join(root, 'models', 'training', 'bench_reference.py');
  if (!existsSync(script)) return `reference sampler not found (${script})`;
  // Run the module under a wrapper that appends the process's peak RSS as one more JSON line.
  const wrapper = [
    'import json, resource, runpy, sys',
    "sys.argv = ['bench_reference'] + sys.argv[1:]",
    "runpy.run_module('models.training.bench_reference', run_name='__main__')",
    "print(json.dumps({'peak_rss_mb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))",
  ].join('\n');
  const args = ['-c', wrapper, '--steps', String(steps), '--guidance', String(guidance), '--runs', String(runs), '--threads', String(threads)];
  const r = spawnSync(values.python, args, { cwd: root, encoding: 'utf8', timeout: 1_800_000 });
  if (r.status !== 0) return `reference sampler failed (exit ${r.status}): ${(r.stderr || r.stdout).trim().split('\n').slice(-3).join(' | ')}`;
  const lines = r.stdout.trim().split('\n');
  const rss = lines.pop() ?? '';
  const result = lines.pop() ?? '';
  try {
    const j = JSON.parse(result) as { seconds_per_image: number; seconds_per_step?: number };
    const m = JSON.parse(rss) as { peak_rss_mb: number };
    return { perImage: j.seconds_per_image, perStep: j.seconds_per_step, peakRssMb: m.peak_rss_mb };
  } catch {
    return `reference sampler printed no JSON result line (last line: '${result.slice(0, 200)}')`;
  }
}

(async () => {
  console.log(`model ${modelDir}\n${steps} steps, ${scheduler}, guidance ${guidance}, ${runs} runs (median), ${threads} threads, ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'})`);
  const o = await benchOrt();
  console.log(`TypeScript + ONNX Runtime (CPU, thread spinning ${values.spinning ? 'on' : 'off'}):`);
  console.log(`  load ${o.loadS.toFixed(2)} s; per step ${(o.perStep * 1000).toFixed(1)} ms (${o.unetCalls} U-Net calls per image); decode ${(o.decode * 1000).toFixed(1)} ms`);
  console.log(`  per image ${o.perImage.toFixed(3)} s median, ${o.bestImage.toFixed(3)} s best; peak RSS ${o.peakRssMb.toFixed(0)} MB`);
  const p = benchPython();
  if (typeof p === 'string') {
    console.log(`PyTorch eager reference: ${p}`);
    return;
  }
  console.log(`PyTorch eager reference (same model and weights, DDIM, steps, guidance, threads):`);
  if (scheduler !== 'ddim') console.log(`  note: the reference samples with DDIM; this run used ${scheduler}`);
  console.log(
    `  per image ${p.perImage.toFixed(3)} s best` +
      (p.perStep !== undefined ? `; per step ${(p.perStep * 1000).toFixed(1)} ms` : '') +
      (p.peakRssMb !== undefined ? `; peak RSS ${p.peakRssMb.toFixed(0)} MB` : ''),
  );
  console.log(
    `speed-up TS/ORT vs PyTorch eager (best vs best): ${(p.perImage / o.bestImage).toFixed(2)}x per image` +
      (p.perStep ? `, ${(p.perStep / o.bestStep).toFixed(2)}x per step (PyTorch per step includes text encoding and decode)` : ''),
  );
})();
