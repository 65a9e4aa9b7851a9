/**
 * Peak memory of one generation per image size on a model, each size in a fresh process (peak RSS
 * is per process). Calibrates and checks the estimator in src/main/engine/memory-estimate.ts:
 * every row prints the measured peak next to the estimate.
 *
 *   npm run bench:memory -- [--model DIR] [--sizes 128,256,384,512,768] [--steps 1] [--threads 2] [--external]
 *
 * --external runs on a copy of the model whose U-Net keeps its weights in unet/model.onnx_data
 * (as SD exports do), to see what reading external data into memory costs (src/main/engine/external-data.ts).
 *
 * A child runs the app's own path (ModelManager: the attention-hooked U-Net; runGeneration:
 * guidance 7.5, so the U-Net runs at batch 2, and the attention recorder) and reports its RSS after
 * loading and its peak RSS (getrusage maxrss) after one generation, as a JSON line.
 */
import { spawnSync } from 'node:child_process'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { estimateGenerationMemory, readMemoryProfile } from '../src/main/engine/memory-estimate'
import { inspectModelFolder } from '../src/main/engine/model-folder'
import { ModelManager } from '../src/main/service/models'
import { runGeneration } from '../src/main/service/generator'
import { externalizeUnet } from '../test/engine/externalize'

const root = join(__dirname, '..')
const { values } = parseArgs({
  options: {
    model: { type: 'string', default: join(root, 'models', 'daam-shapes') },
    sizes: { type: 'string', default: '128,256,384,512,768' },
    steps: { type: 'string', default: '1' },
    threads: { type: 'string', default: '2' },
    child: { type: 'string' },
    external: { type: 'boolean', default: false },
  },
})
const GB = 1024 ** 3

async function child(size: number): Promise<void> {
  const models = new ModelManager({ bundledDir: resolve(values.model), threads: Number(values.threads) })
  const active = await models.ensure()
  const loadedRss = process.memoryUsage().rss
  const loadPeakRss = process.resourceUsage().maxRSS * 1024
  const t0 = performance.now()
  await runGeneration(
    active,
    { prompt: 'a snowman wearing a red hat', steps: Number(values.steps), width: size, height: size, seed: 1 },
    { id: 'bench', onProgress: () => {} },
  )
  const seconds = (performance.now() - t0) / 1000
  console.log(JSON.stringify({ size, loadedRss, loadPeakRss, peakRss: process.resourceUsage().maxRSS * 1024, seconds }))
}

function main(): void {
  const args = process.argv.slice(2).filter((a) => a !== '--external')
  if (values.external) {
    const i = args.indexOf('--model')
    if (i >= 0) args.splice(i, 2)
    args.push('--model', externalizeUnet(resolve(values.model)))
  }
  const mi = args.indexOf('--model')
  const folder = inspectModelFolder(resolve(mi >= 0 ? args[mi + 1] : values.model))
  const profile = readMemoryProfile(folder)
  console.log(`model ${folder.dir}`)
  console.log('size      load peak  loaded RSS   peak RSS   measured extra   estimated extra   est/measured   seconds')
  for (const size of values.sizes.split(',').map(Number)) {
    const r = spawnSync(
      process.execPath,
      ['--import', 'tsx', __filename, ...process.argv.slice(2), '--child', String(size)],
      {
        encoding: 'utf8',
        maxBuffer: 1 << 24,
      },
    )
    const line = r.stdout.split('\n').find((l) => l.startsWith('{'))
    if (!line) {
      console.log(`${size}²: failed (${r.signal ?? r.status}): ${r.stderr.split('\n').slice(-5).join(' ')}`)
      continue
    }
    const m = JSON.parse(line) as { loadedRss: number; loadPeakRss: number; peakRss: number; seconds: number }
    const est = estimateGenerationMemory(profile, { width: size, height: size, batch: 2 }).extraBytes
    const extra = m.peakRss - m.loadedRss
    const gb = (v: number, w: number): string => `${(v / GB).toFixed(2).padStart(w)} GB`
    console.log(
      `${`${size}²`.padEnd(9)} ${gb(m.loadPeakRss, 7)} ${gb(m.loadedRss, 7)} ${gb(m.peakRss, 8)} ${gb(extra, 13)} ${gb(est, 14)} ` +
        `${(est / extra).toFixed(2).padStart(14)} ${m.seconds.toFixed(1).padStart(9)}`,
    )
  }
}

if (values.child) void child(Number(values.child))
else main()
