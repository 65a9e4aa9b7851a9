/**
 * How long the main thread blocks while the app loads a model and generates, and what the engine
 * worker's thread boundary costs per step. One run:
 *
 *   1. Through AppService (what the Electron app and the e2e drive): load the bundled model, one
 *      1-step warm-up generation, then one generation at --size (default 512x512).
 *      perf_hooks.monitorEventLoopDelay records the main thread's event-loop delay; its max is the
 *      longest block (target < 50 ms). A 5 ms interval timer's largest gap is a cross-check.
 *   2. The same (warm-up included) with ModelManager + runGeneration called on this thread, as
 *      AppService did before the engine worker: the "before" block, and the cost of the thread
 *      boundary per step: wall time per step through the service vs in-thread and their ratio, and
 *      (less sensitive to how fast the U-Net ran each time) the time outside the pipeline's own
 *      totalMs both ways, whose difference per step is what the boundary adds.
 *
 *   npm run bench:main-thread -- [--size 512] [--steps 4] [--threads N] [--model DIR]
 *
 * The last stdout line is JSON with every figure.
 */
import os from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { AppService } from '../src/main/service'
import { runGeneration } from '../src/main/service/generator'
import { ModelManager } from '../src/main/service/models'
import type { GenerationParamsInput } from '../src/shared/generation'

const root = path.join(__dirname, '..')
const { values } = parseArgs({
  options: {
    model: { type: 'string', default: path.join(root, 'models', 'daam-shapes') },
    size: { type: 'string', default: '512' },
    steps: { type: 'string', default: '4' },
    threads: { type: 'string' },
  },
})
const size = Number(values.size)
const steps = Number(values.steps)
const threads = values.threads ? Number(values.threads) : undefined
const modelDir = path.resolve(values.model)
const params: GenerationParamsInput = {
  prompt: 'a snowman wearing a red hat and a blue scarf around its neck',
  steps,
  seed: 7,
  width: size,
  height: size,
}
const warmup: GenerationParamsInput = { ...params, steps: 1 }

interface Blocked {
  /** Longest event-loop block, from monitorEventLoopDelay (ms). */
  maxDelayMs: number
  /** Largest gap between two ticks of a 5 ms interval timer, minus its period (ms). */
  maxGapMs: number
  /**
   * Most CPU time this thread spent between two ticks (ms): the part of a block that is this
   * thread's own work. On a loaded machine a block can be longer, the rest spent waiting for a core.
   */
  maxBusyMs: number
  /** Wall time of the measured call (ms). */
  wallMs: number
}

/** Runs `fn` while measuring how long the event loop of this thread is blocked. */
async function measure<T>(fn: () => Promise<T>): Promise<{ value: T; blocked: Blocked }> {
  const histogram = monitorEventLoopDelay({ resolution: 5 })
  let last = performance.now()
  let lastCpu = process.threadCpuUsage()
  let maxGap = 0
  let maxBusy = 0
  const timer = setInterval(() => {
    const now = performance.now()
    const cpu = process.threadCpuUsage(lastCpu)
    maxGap = Math.max(maxGap, now - last - 5)
    maxBusy = Math.max(maxBusy, (cpu.user + cpu.system) / 1000)
    last = now
    lastCpu = process.threadCpuUsage()
  }, 5)
  histogram.enable()
  const t0 = performance.now()
  try {
    const value = await fn()
    const wallMs = performance.now() - t0
    // Let the timer fire once more so a block that ends with the call is counted.
    await new Promise((r) => setTimeout(r, 20))
    return { value, blocked: { maxDelayMs: histogram.max / 1e6, maxGapMs: maxGap, maxBusyMs: maxBusy, wallMs } }
  } finally {
    histogram.disable()
    clearInterval(timer)
  }
}

const round = (v: number): number => Math.round(v * 10) / 10

async function main(): Promise<void> {
  console.log(
    `main-thread block: ${size}x${size}, ${steps} steps, threads ${threads ?? 'ORT default'}, ${os.cpus().length} cores`,
  )

  const report = (label: string, b: Blocked, stepMs?: number): void =>
    console.log(
      `${label.padEnd(19)} longest block ${round(b.maxDelayMs)} ms (timer gap ${round(b.maxGapMs)} ms, ` +
        `own CPU ${round(b.maxBusyMs)} ms), wall ${round(b.wallMs)} ms` +
        (stepMs === undefined ? '' : `, engine step ${round(stepMs)} ms`),
    )

  // 1. Through the service.
  const service = new AppService({ modelsDir: path.dirname(modelDir), userDataDir: null, threads })
  const load = await measure(() => service.loadModel(modelDir))
  await service.generate(warmup) // first run at a size allocates ORT's arenas: not what is compared
  const viaService = await measure(() => service.generate(params))
  await service.dispose()
  const serviceStepMs = viaService.value.timings.stepMs
  report('service load:', load.blocked)
  report('service generate:', viaService.blocked, serviceStepMs)

  // 2. The engine on this thread.
  const models = new ModelManager({ bundledDir: modelDir, threads })
  const inThreadLoad = await measure(() => models.load(modelDir))
  const active = inThreadLoad.value
  await runGeneration(active, warmup, { id: 'bench-warmup', onProgress: () => {} })
  const inThread = await measure(() => runGeneration(active, params, { id: 'bench-in-thread', onProgress: () => {} }))
  await models.release()
  const inThreadStepMs = inThread.value.timings.stepMs
  report('in-thread load:', inThreadLoad.blocked)
  report('in-thread generate:', inThread.blocked, inThreadStepMs)

  const perStepService = viaService.blocked.wallMs / steps
  const perStepInThread = inThread.blocked.wallMs / steps
  // Time outside the pipeline (its totalMs): the runner's own work both ways, plus the messages,
  // copies and validation of the thread boundary through the service. Its difference is the
  // boundary's cost, free of how fast the U-Net happened to run in each.
  const outsideService = viaService.blocked.wallMs - viaService.value.timings.totalMs
  const outsideInThread = inThread.blocked.wallMs - inThread.value.timings.totalMs
  const boundaryPerStep = (outsideService - outsideInThread) / steps
  console.log(
    `per step (wall / steps): service ${round(perStepService)} ms, in-thread ${round(perStepInThread)} ms, ` +
      `ratio ${(perStepService / perStepInThread).toFixed(3)}`,
  )
  console.log(
    `outside the pipeline: service ${round(outsideService)} ms, in-thread ${round(outsideInThread)} ms; ` +
      `boundary ${round(boundaryPerStep)} ms per step`,
  )
  console.log(
    JSON.stringify({
      size,
      steps,
      threads: threads ?? null,
      cores: os.cpus().length,
      service: { load: load.blocked, generate: viaService.blocked, engineStepMs: serviceStepMs },
      inThread: { load: inThreadLoad.blocked, generate: inThread.blocked, engineStepMs: inThreadStepMs },
      perStep: {
        serviceMs: perStepService,
        inThreadMs: perStepInThread,
        ratio: perStepService / perStepInThread,
        boundaryMs: boundaryPerStep,
      },
      outsidePipelineMs: { service: outsideService, inThread: outsideInThread },
    }),
  )
}

main().catch((error: unknown) => {
  console.error(error)
  process.exit(1)
})
