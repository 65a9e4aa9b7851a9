/**
 * Heat-map speed on an SD 1.5-sized record: 512x512 image (64x64 latent), 16 cross-attention
 * layers (64², 32², 16², 8²), 50 steps, a 10-word prompt (12 kept tokens), stored with the
 * default 8 MB plan. Prints median times:
 *   - aggregation (runs once per filter change: all steps, or a step range / single step),
 *   - word maps at image size from the cached aggregation: one word, and all 10 words
 *     (the interactive path: click a word, switch normalisation). Target: all words <= 20 ms.
 * Run: npx tsx bench/heatmaps.ts
 */
import * as os from 'node:os'
import { planBuckets, bucketCount, type AttentionRecord, type RecordLayer } from '../src/shared/attention-record'
import { toHalf } from '../src/shared/float16'
import { Heatmaps } from '../src/shared/heatmap/heatmaps'
import { aggregateTokens } from '../src/shared/heatmap/aggregate'
import { latentWordMaps, toImageSize } from '../src/shared/heatmap/word-maps'

const sizes = [64, 64, 32, 32, 16, 16, 8, 16, 16, 16, 32, 32, 32, 64, 64, 64]
const blocks: RecordLayer['block'][] = [
  'down',
  'down',
  'down',
  'down',
  'down',
  'down',
  'mid',
  'up',
  'up',
  'up',
  'up',
  'up',
  'up',
  'up',
  'up',
  'up',
]
const STEPS = 50,
  T = 12,
  IMG = 512

function makeRecord(): AttentionRecord {
  const buckets = planBuckets(
    sizes.map((s) => s * s),
    STEPS,
    T,
  )
  const layers: RecordLayer[] = sizes.map((s, i) => ({
    index: i,
    name: `layer${i}`,
    block: blocks[i],
    blockIndex: 0,
    height: s,
    width: s,
    bucketSize: buckets[i],
  }))
  let seed = 1
  const rand = (): number => (seed = (seed * 16807) % 2147483647) / 2147483647
  const data = layers.map((l) => {
    const a = new Uint16Array(bucketCount(STEPS, l.bucketSize) * T * l.height * l.width)
    for (let i = 0; i < a.length; i++) a[i] = toHalf(rand() * 0.2 * l.bucketSize)
    return a
  })
  return {
    steps: STEPS,
    timesteps: Array.from({ length: STEPS }, (_, i) => 981 - 20 * i),
    latentHeight: 64,
    latentWidth: 64,
    layers,
    cond: { name: 'cond', tokens: T, data },
  }
}

/**
 * Median wall time per call, and CPU time per call (process.cpuUsage: user + system). On a
 * machine shared with other jobs the wall time includes waiting for a core; the CPU time is what
 * the work costs on an idle core.
 */
function median(fn: () => void, runs: number): number {
  for (let i = 0; i < 3; i++) fn()
  const times: number[] = []
  const c0 = process.cpuUsage()
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now()
    fn()
    times.push(performance.now() - t0)
  }
  const c = process.cpuUsage(c0)
  lastCpu = (c.user + c.system) / 1000 / runs
  times.sort((a, b) => a - b)
  return times[Math.floor(times.length / 2)]
}
let lastCpu = 0
const cpu = (): string => `  [CPU ${lastCpu.toFixed(2)} ms]`

const record = makeRecord()
const words = Array.from({ length: 10 }, (_, i) => ({ label: `w${i}`, tokens: [i + 1] }))
const recordSize = record.cond.data.reduce((s, d) => s + d.byteLength, 0)
console.log(`load average ${os.loadavg()[0].toFixed(1)} on ${os.cpus().length} cores`)
console.log(
  `record: ${(recordSize / 1e6).toFixed(2)} MB; bucket sizes ${record.layers.map((l) => l.bucketSize).join(',')}`,
)

const agg = median(() => aggregateTokens(record), 7)
const aggCpu = cpu()
const aggStep = median(() => aggregateTokens(record, { step: 25 }), 7)
const aggStepCpu = cpu()
const aggRange = median(() => aggregateTokens(record, { steps: { from: 0, to: 19 }, resolutions: [16] }), 7)
const aggRangeCpu = cpu()
const hm = new Heatmaps(record, IMG, IMG)
hm.tokenMaps()
const tm = hm.tokenMaps()
const out = new Float32Array(IMG * IMG)
const one = median(() => {
  const [m] = latentWordMaps(tm, [words[3]], 'word')
  toImageSize(m, 64, 64, IMG, IMG, 'word', out)
}, 30)
const oneCpu = cpu()
const fresh = median(() => hm.wordMaps(words), 20)
const freshCpu = cpu()
let buffers = hm.wordMaps(words).maps
const all = median(() => {
  buffers = hm.wordMaps(words, {}, buffers).maps
}, 20)
const allCpu = cpu()
const allAcross = median(() => {
  buffers = hm.wordMaps(words, { normalization: 'across' }, buffers).maps
}, 20)
const acrossCpu = cpu()

let bytes8 = hm.wordBytes(words)
const allBytes = median(() => {
  bytes8 = hm.wordBytes(words, {}, bytes8)
}, 20)
const bytesCpu = cpu()
console.log(`aggregate (filter change), all steps, 15 layers:  ${agg.toFixed(1)} ms${aggCpu}`)
console.log(`aggregate, single step (scrubbing):               ${aggStep.toFixed(1)} ms${aggStepCpu}`)
console.log(`aggregate, steps 0-19 at 16x16 only:              ${aggRange.toFixed(1)} ms${aggRangeCpu}`)
console.log(`one word map at ${IMG}x${IMG} (cached aggregation):   ${one.toFixed(2)} ms${oneCpu}`)
console.log(`all 10 word maps at ${IMG}x${IMG}, per word norm:     ${all.toFixed(2)} ms${allCpu}`)
console.log(`all 10 word maps as display bytes (wordBytes):   ${allBytes.toFixed(2)} ms${bytesCpu}  (target <= 20 ms)`)
console.log(`  (same, allocating new output arrays:             ${fresh.toFixed(2)} ms${freshCpu})`)
console.log(`all 10 word maps, across-words normalisation:     ${allAcross.toFixed(2)} ms${acrossCpu}`)
