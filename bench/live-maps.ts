/**
 * What live maps cost a generation. One run, the app's own path on this thread (ModelManager with
 * the attention-hooked U-Net, runGeneration): generations alternate with and without live maps
 * (the LiveAttention observer, src/main/attention/live-attention.ts), each progress event is
 * structured-cloned with its buffers transferred as the engine worker posts it, and the bench
 * prints the median of the paired with/without ratios of the denoising time (goal <= 1.05) next to
 * an A/A control (two runs without live maps paired the same way). It also times what the window
 * does per step (enlarge the preview, fold the step, draw one word's live overlay) and prints the
 * live payload's size per step.
 *
 *   npm run bench:live -- [--size 512] [--steps 8] [--rounds 6] [--threads N] [--model DIR]
 *
 * The last stdout line is JSON with every figure.
 */
import path from 'node:path'
import { parseArgs } from 'node:util'
import { LiveAttention } from '../src/main/attention/live-attention'
import { runGeneration } from '../src/main/service/generator'
import { ModelManager } from '../src/main/service/models'
import { transferables } from '../src/main/service/engine-host/messages'
import type { GenerationParamsInput } from '../src/shared/generation'
import { DEFAULT_OVERLAY } from '../src/shared/heatmap/overlay'
import { enlargeRgb, renderLiveOverlay } from '../src/shared/heatmap/live-frame'
import type { ProgressEvent } from '../src/shared/ipc/payloads'
import { LiveRecord } from '../src/shared/live-attention'

const root = path.join(__dirname, '..')
const { values } = parseArgs({
  options: {
    model: { type: 'string', default: path.join(root, 'models', 'daam-shapes') },
    size: { type: 'string', default: '512' },
    steps: { type: 'string', default: '8' },
    rounds: { type: 'string', default: '6' },
    threads: { type: 'string' },
  },
})
const size = Number(values.size)
const params: GenerationParamsInput = {
  prompt: 'a snowman wearing a red hat and a blue scarf around its neck',
  steps: Number(values.steps),
  seed: 7,
  width: size,
  height: size,
}
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2
}

/** Time spent inside the live observer (its own work, less sensitive to load than wall ratios). */
let observerMs = 0
let observerSteps = 0
/** Time structured-cloning the progress events of the runs with live maps. */
let cloneMs = 0
const step = LiveAttention.prototype.step
LiveAttention.prototype.step = function (this: LiveAttention, call) {
  const t0 = performance.now()
  step.call(this, call)
  observerMs += performance.now() - t0
  observerSteps++
}

async function main(): Promise<void> {
  const models = new ModelManager({
    bundledDir: path.resolve(values.model),
    threads: values.threads ? Number(values.threads) : undefined,
  })
  const active = await models.ensure()
  let liveBytes = 0
  const events: ProgressEvent[] = []
  const run = async (liveMaps: boolean): Promise<number> => {
    const payload = await runGeneration(active, params, {
      id: 'bench-live-0000',
      liveMaps,
      onProgress: (p) => {
        // what the engine worker's postMessage does with it
        const t0 = performance.now()
        const sent = structuredClone(p, { transfer: transferables(p.preview?.rgb, p.live?.data) })
        if (liveMaps) cloneMs += performance.now() - t0
        if (sent.live) liveBytes = sent.live.data.byteLength
        if (liveMaps) events.push(sent)
      },
    })
    return payload.timings.denoiseMs
  }
  await run(true) // warm-up: sessions, preview map
  await run(false)
  observerMs = 0
  observerSteps = 0
  cloneMs = 0
  let onMs = 0
  let onSteps = 0
  const rounds = Number(values.rounds)
  const ratios: number[] = []
  const control: number[] = []
  for (let r = 0; r < rounds; r++) {
    // alternate the order so drift favours neither side
    const a = r % 2 ? await run(false) : 0
    const on = await run(true)
    const off = r % 2 ? a : await run(false)
    const off2 = await run(false)
    onMs += on
    onSteps += Number(values.steps)
    ratios.push(on / off)
    control.push(off2 / off)
    events.length = Math.min(events.length, Number(values.steps)) // keep one generation's events
    console.log(`round ${r + 1}: with ${on.toFixed(0)} ms, without ${off.toFixed(0)} / ${off2.toFixed(0)} ms`)
  }

  // The window's work per step: enlarge the preview, fold the step, draw one word over it.
  const live = new LiveRecord()
  const words = [{ label: 'hat', tokens: [6] }]
  const paintMs: number[] = []
  for (const e of events.slice(0, Number(values.steps))) {
    if (!e.live) continue
    const t0 = performance.now()
    live.add(e.live)
    if (!e.preview) continue // the app previews every 2nd step; the live maps repaint with it
    const k = Math.ceil(256 / Math.max(e.preview.width, e.preview.height))
    const image = enlargeRgb(
      e.preview.rgb,
      e.preview.width,
      e.preview.height,
      e.preview.width * k,
      e.preview.height * k,
    )
    renderLiveOverlay(live.record()!, image, { ...DEFAULT_OVERLAY, words, stream: 'cond' })
    paintMs.push(performance.now() - t0)
  }
  const summary = {
    size,
    steps: Number(values.steps),
    rounds,
    liveOverPlain: median(ratios),
    control: median(control),
    ratios,
    observerMsPerStep: observerMs / observerSteps,
    stepMs: onMs / onSteps,
    observerShare: observerMs / onMs,
    cloneMsPerStep: cloneMs / observerSteps,
    liveBytesPerStep: liveBytes,
    windowPaintMsMedian: paintMs.length ? median(paintMs) : null,
  }
  console.log(
    `with/without live maps: ${summary.liveOverPlain.toFixed(3)} (A/A control ${summary.control.toFixed(3)}); observer ${summary.observerMsPerStep.toFixed(3)} ms + event clone ${summary.cloneMsPerStep.toFixed(3)} ms of a ${summary.stepMs.toFixed(0)} ms step (${(100 * summary.observerShare).toFixed(2)} %); live payload ${liveBytes} bytes/step; window paint ${summary.windowPaintMsMedian?.toFixed(2)} ms/step`,
  )
  console.log(JSON.stringify(summary))
  await models.release()
}

void main()
