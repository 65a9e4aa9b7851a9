/**
 * Warm-up bench: are the first U-Net calls of a fresh session slower than later ones, and does a
 * warm-up call at load, or ONNX Runtime's memory-pattern or CPU-arena settings, remove that?
 * Each variant runs in fresh child processes (a session in a process that already ran one would
 * start warm), on the bundled U-Net patched by the attention hook, fetching every output as a
 * recorded generation does, guidance batch 2, same feeds for every call.
 *
 *   npx tsx bench/warm-up.ts [--model DIR] [--latent 16,64] [--procs 5] [--calls 8] [--threads 2]
 *
 * Prints, per variant and latent size, the median over processes of: session creation, the
 * warm-up call (when the variant makes one), calls 1 and 2 of the session, the median of the
 * later calls, and calls 1 and 2 over the later ones (per process, which a shared machine's
 * changing load disturbs least). Rounds alternate the variants.
 */
import { spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { parseArgs } from 'node:util'
import * as ort from 'onnxruntime-node'
import { patchUnet } from '../src/main/attention/patch-unet'
import { sessionOptions } from '../src/main/engine/session-options'

const VARIANTS = {
  app: {},
  'warm-up call at load': {},
  'memory pattern off': { enableMemPattern: false },
  'CPU arena off': { enableCpuMemArena: false },
  'pattern + arena off': { enableMemPattern: false, enableCpuMemArena: false },
} satisfies Record<string, ort.InferenceSession.SessionOptions>
type Variant = keyof typeof VARIANTS

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: path.join(__dirname, '..', 'models', 'daam-shapes') },
    latent: { type: 'string', default: '16,64' },
    procs: { type: 'string', default: '5' },
    calls: { type: 'string', default: '8' },
    threads: { type: 'string', default: '2' },
    child: { type: 'string' },
  },
})

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}

interface ChildResult {
  createMs: number
  warmUpMs: number | null
  callMs: number[]
}

async function child(variant: Variant, latent: number): Promise<ChildResult> {
  const unetPath = path.join(values.model, 'unet', 'model.onnx')
  const patch = patchUnet(fs.readFileSync(unetPath))
  const opts = { ...sessionOptions({ threads: Number(values.threads) }), ...VARIANTS[variant] }
  let t = performance.now()
  const session = await ort.InferenceSession.create(patch.model, opts)
  const createMs = performance.now() - t
  const meta = Object.fromEntries(session.inputMetadata.map((m) => [m.name, m]))
  const ehs = meta.encoder_hidden_states
  const dim = ehs?.isTensor && typeof ehs.shape[2] === 'number' ? ehs.shape[2] : 768
  const B = 2
  const fill = (n: number, seed: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898 + seed))
  const tMeta = meta.timestep
  const feeds = {
    sample: new ort.Tensor('float32', fill(B * 4 * latent * latent, 1), [B, 4, latent, latent]),
    timestep:
      tMeta?.isTensor && tMeta.type === 'int64'
        ? new ort.Tensor('int64', BigInt64Array.of(500n, 500n), [B])
        : new ort.Tensor('float32', Float32Array.of(500, 500), [B]),
    encoder_hidden_states: new ort.Tensor('float32', fill(B * 77 * dim, 2), [B, 77, dim]),
  }
  let warmUpMs: number | null = null
  if (variant === 'warm-up call at load') {
    // What a warm-up at load would do: one call at the model's own default size, result dropped.
    t = performance.now()
    await session.run(feeds, session.outputNames)
    warmUpMs = performance.now() - t
  }
  const callMs: number[] = []
  for (let i = 0; i < Number(values.calls); i++) {
    t = performance.now()
    await session.run(feeds, session.outputNames)
    callMs.push(performance.now() - t)
  }
  await session.release()
  return { createMs, warmUpMs, callMs }
}

function main(): void {
  const latents = values.latent.split(',').map(Number)
  const variants = Object.keys(VARIANTS) as Variant[]
  const fmt = (ms: number | null) => (ms === null ? '      -' : ms.toFixed(1).padStart(7))
  const ratio = (x: number) => x.toFixed(2).padStart(6)
  console.log(`U-Net ${values.model}, ${values.threads} threads, ${values.procs} fresh processes per row`)
  console.log('(medians over processes, ms; ratios are per process, call / median of calls 3.., then the median)')
  console.log('latent  variant                  create  warm-up   call 1   call 2    later  c1/later  c2/later')
  for (const latent of latents) {
    const runs = new Map<Variant, ChildResult[]>(variants.map((v) => [v, []]))
    // Rounds alternate the variants, so that background load on a shared machine hits all alike.
    for (let p = 0; p < Number(values.procs); p++) {
      for (const variant of variants) {
        const r = spawnSync(
          process.execPath,
          [...process.execArgv, __filename, ...process.argv.slice(2), '--child', `${variant}|${latent}`],
          { encoding: 'utf8', maxBuffer: 1 << 24 },
        )
        if (r.status !== 0) throw new Error(`child failed: ${r.stderr}`)
        runs.get(variant)!.push(JSON.parse(r.stdout.trim().split('\n').pop()!) as ChildResult)
      }
    }
    for (const variant of variants) {
      const rs = runs.get(variant)!
      const later = rs.map((r) => median(r.callMs.slice(2)))
      const warm = rs[0].warmUpMs === null ? null : median(rs.map((r) => r.warmUpMs!))
      console.log(
        `${String(latent).padStart(6)}  ${variant.padEnd(22)}${fmt(median(rs.map((r) => r.createMs)))}  ${fmt(warm)}` +
          `  ${fmt(median(rs.map((r) => r.callMs[0])))}  ${fmt(median(rs.map((r) => r.callMs[1])))}  ${fmt(median(later))}` +
          `    ${ratio(median(rs.map((r, i) => r.callMs[0] / later[i])))}    ${ratio(median(rs.map((r, i) => r.callMs[1] / later[i])))}`,
      )
    }
  }
}

if (values.child) {
  const [variant, latent] = values.child.split('|')
  child(variant as Variant, Number(latent))
    .then((r) => console.log(JSON.stringify(r)))
    .catch((e) => {
      console.error(e)
      process.exit(1)
    })
} else main()
