/**
 * Heat-map evaluation on the bundled model (issue 5): >= 100 prompts built only from the
 * combinations held out of training (heldOut in models/daam-shapes/world.json, which
 * models/training/world.py trains with), 20 DDIM steps, guidance 5. Ground truth is colour-keyed: the world draws
 * every object in one flat palette colour, so the pixels of the generated image nearest to the
 * named colour are the object's mask (hat -> hat colour, scarf/neck -> scarf colour, a shape ->
 * its colour). Heat-map masks are the word maps (per-word min-max) thresholded at tau = 0.4.
 * Prints mIoU per word class and overall for several filters, on the same records, then the
 * methods side by side per class (DAAM, image-guided, self-attention refined; issue 16). The
 * image-guided method's parameters were chosen on the seen split only (src/shared/heatmap/image-guided.ts).
 *
 * Then a "which layers/heads segment best" table: the DAAM map of each layer alone and, with
 * --per-head (the U-Net patched to keep every head, src/main/attention/patch-unet.ts), of each
 * (layer, head) alone, ranked by overall mIoU.
 *
 * Generation runs through the app's traced generation (src/main/attention/trace.ts).
 * Run: npx tsx scripts/eval.ts [--split heldout|seen] [--n 100] [--steps 20] [--guidance 5] [--model models/daam-shapes] [--per-head] [--json out.json]
 */
import * as fs from 'node:fs'
import { loadTracedModel, traceGeneration } from '../src/main/attention/trace'
import { Heatmaps, type HeatmapMethod } from '../src/shared/heatmap/heatmaps'
import { thresholdMask, iou, DEFAULT_TAU } from '../src/shared/heatmap/masks'
import { selectWordSpecs } from '../src/shared/heatmap/prompt-words'
import type { HeatmapFilter } from '../src/shared/heatmap/aggregate'
import type { RecordLayer } from '../src/shared/attention-record'
import type { Normalization } from '../src/shared/heatmap/word-maps'
import { colourMask } from './colour-key'
import world from '../models/daam-shapes/world.json'

const COLOURS = Object.keys(world.palette)
const SHAPES = world.shapes
const HELD_OUT_SHAPES = world.heldOut.shapes as [string, string][]
/** (hat colour, scarf colour) */
const HELD_OUT_ACCESSORIES = world.heldOut.accessories as [string, string][]
const art = (w: string): string => (/^[aeiou]/.test(w) ? 'an' : 'a')

export interface Case {
  prompt: string
  seed: number
  targets: { word: string; colour: string }[]
}

/** How eval generates each case (20 DDIM steps, guidance 5); --steps/--guidance override. */
export const EVAL_GENERATION = { steps: 20, guidance: 5, scheduler: 'ddim' } as const

/**
 * 'heldout' (the evaluation): every prompt names a combination never drawn in training.
 * 'seen': only combinations from training, to tell heat-map quality from generalisation.
 */
export function buildCases(n: number, split: 'heldout' | 'seen'): Case[] {
  const heldShape = (c: string, s: string): boolean => HELD_OUT_SHAPES.some(([hc, hs]) => hc === c && hs === s)
  const heldAcc = (h: string, s: string): boolean => HELD_OUT_ACCESSORIES.some(([hh, hs]) => hh === h && hs === s)
  const shapePairs: [string, string][] =
    split === 'heldout'
      ? HELD_OUT_SHAPES
      : COLOURS.flatMap((c) => SHAPES.map((s): [string, string] => [c, s])).filter(([c, s]) => !heldShape(c, s))
  const accPairs: [string, string][] =
    split === 'heldout'
      ? HELD_OUT_ACCESSORIES
      : COLOURS.flatMap((h) => COLOURS.map((s): [string, string] => [h, s])).filter(
          ([h, s]) => h !== s && !heldAcc(h, s),
        )
  const cases: Case[] = []
  let seed = 1000
  const nShapes = Math.ceil(n * 0.6)
  for (let i = 0; cases.length < nShapes; i++) {
    const [c1, s1] = shapePairs[(i * 5) % shapePairs.length]
    const s2 = SHAPES.filter((s) => s !== s1)[Math.floor(i / 3) % 2]
    const c2options = COLOURS.filter((c) => c !== c1 && (split === 'heldout' || !heldShape(c, s2)))
    const c2 = c2options[(i * 7) % c2options.length]
    const a = `${art(c1)} ${c1} ${s1}`,
      b = `${art(c2)} ${c2} ${s2}`
    const template = i % 4
    const prompt =
      template === 0
        ? `${a} and ${b}`
        : template === 1
          ? `${b} and ${a}`
          : template === 2
            ? `${a} to the left of ${b}`
            : `a picture of ${a}`
    const targets =
      template === 3
        ? [{ word: s1, colour: c1 }]
        : [
            { word: s1, colour: c1 },
            { word: s2, colour: c2 },
          ]
    cases.push({ prompt, seed: seed++, targets })
  }
  for (let i = 0; cases.length < n; i++) {
    const [h, s] = accPairs[(i * 3) % accPairs.length]
    const template = Math.floor(i / 5) % 3
    const prompt =
      template === 0
        ? `a snowman wearing ${art(h)} ${h} hat and ${art(s)} ${s} scarf around its neck`
        : template === 1
          ? `a snowman in ${art(h)} ${h} hat with ${art(s)} ${s} scarf`
          : `a snowman with ${art(s)} ${s} scarf around its neck and ${art(h)} ${h} hat`
    const targets = [
      { word: 'hat', colour: h },
      { word: 'scarf', colour: s },
    ]
    if (prompt.includes('neck')) targets.push({ word: 'neck', colour: s })
    cases.push({ prompt, seed: seed++, targets })
  }
  return cases
}

function minMax(m: Float32Array): void {
  let lo = Infinity,
    hi = -Infinity
  for (const v of m) {
    if (v < lo) lo = v
    if (v > hi) hi = v
  }
  const k = hi > lo ? 1 / (hi - lo) : 0
  for (let i = 0; i < m.length; i++) m[i] = (m[i] - lo) * k
}

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback
}

const USAGE =
  'usage: eval [--split heldout|seen] [--n 100] [--steps 20] [--guidance 5] [--model models/daam-shapes] [--per-head] [--json out.json]'

interface Config {
  name: string
  filter: HeatmapFilter
  norm: Normalization
  tau?: number
  finest?: boolean
  method?: HeatmapMethod
  /** Part of the layer/head exploration table rather than the main report. */
  explore?: boolean
}

async function main(): Promise<void> {
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    console.log(USAGE)
    return
  }
  const n = Number(arg('n', '100'))
  const steps = Number(arg('steps', String(EVAL_GENERATION.steps)))
  const guidance = Number(arg('guidance', String(EVAL_GENERATION.guidance)))
  const perHead = process.argv.includes('--per-head')
  const traced = await loadTracedModel(arg('model', 'models/daam-shapes'), { threads: 2, perHead, refine: !perHead })
  const taps = traced.hook?.taps ?? []
  if (taps.length === 0) throw new Error(traced.hook?.warning ?? 'this model exposes no cross-attention to map')
  const split = arg('split', 'heldout')
  if (split !== 'heldout' && split !== 'seen') throw new Error(`--split must be heldout or seen, got ${split}`)
  const cases = buildCases(n, split)
  const half = Math.floor(steps / 2)
  const configs: Config[] = [
    { name: 'DAAM default (no mid block, all steps)', filter: {}, norm: 'word' },
    ...(perHead
      ? []
      : [
          {
            name: 'refined (self-attention propagation)',
            filter: {},
            norm: 'word' as const,
            method: 'refined' as const,
          },
        ]),
    {
      name: 'image-guided (DAAM + edge-aware CRF)',
      filter: {},
      norm: 'word' as const,
      method: 'guided' as const,
    },
    { name: 'DAAM default, tau 0.3', filter: {}, norm: 'word', tau: 0.3 },
    { name: 'DAAM default, tau 0.5', filter: {}, norm: 'word', tau: 0.5 },
    { name: 'DAAM default, tau 0.6', filter: {}, norm: 'word', tau: 0.6 },
    { name: 'late steps, tau 0.5', filter: { steps: { from: half, to: steps - 1 } }, norm: 'word', tau: 0.5 },
    { name: 'all layers incl. mid', filter: { layers: taps.map((t) => t.index) }, norm: 'word' },
    // the latent-resolution layers alone: thin objects (the scarf band) span about one cell there
    // and less than one in the coarser layers
    { name: 'finest layers only (latent resolution)', filter: {}, norm: 'word', finest: true },
    { name: 'early steps (first half)', filter: { steps: { from: 0, to: half - 1 } }, norm: 'word' },
    { name: 'late steps (second half)', filter: { steps: { from: half, to: steps - 1 } }, norm: 'word' },
    // across-words maps are per-pixel shares (rarely >= 0.4); rescaled per word before tau
    { name: 'across-words normalisation, then per-word min-max', filter: {}, norm: 'across' },
  ]
  // the exploration table; head counts are known once the first record arrives
  const layerConfigs = (layers: readonly RecordLayer[]): Config[] =>
    layers.flatMap((l) => [
      { name: `${l.name} ${l.height}x${l.width}`, filter: { layers: [l.index] }, norm: 'word' as const, explore: true },
      ...(perHead
        ? Array.from({ length: l.heads ?? 1 }, (_, h) => ({
            name: `${l.name} ${l.height}x${l.width} head ${h}`,
            filter: { layers: [l.index], head: h },
            norm: 'word' as const,
            explore: true,
          }))
        : []),
    ])
  let explored = false
  const perConfig = configs.map(() => new Map<string, number[]>())
  let missingGt = 0
  const t0 = Date.now()
  for (const [ci, c] of cases.entries()) {
    const g = await traceGeneration(traced, { ...EVAL_GENERATION, prompt: c.prompt, seed: c.seed, steps, guidance })
    const record = g.record
    if (!record) throw new Error(`"${c.prompt}": no attention record`)
    if (!explored) {
      for (const cfg of layerConfigs(record.layers)) {
        configs.push(cfg)
        perConfig.push(new Map())
      }
      explored = true
    }
    const hm = new Heatmaps(record, g.width, g.height, { data: g.rgb, width: g.width, height: g.height, channels: 3 })
    const { words, missing } = selectWordSpecs(
      g.encoding,
      c.targets.map((t) => t.word),
    )
    if (missing.length) throw new Error(`"${c.prompt}": words not found ${missing.join(', ')}`)
    const gts = c.targets.map((t) => colourMask(g.rgb, t.colour))
    const finest = { resolutions: [Math.max(...record.layers.map((l) => l.height))] }
    configs.forEach((cfg, k) => {
      const maps = hm.wordMaps(words, {
        filter: cfg.finest ? finest : cfg.filter,
        normalization: cfg.norm,
        method: cfg.method,
      }).maps
      if (cfg.norm === 'across') maps.forEach(minMax)
      c.targets.forEach((t, wi) => {
        if (!gts[wi].some((v) => v)) {
          if (k === 0) missingGt++
          return
        } // object not drawn: no ground truth
        const list = perConfig[k].get(t.word) ?? []
        list.push(iou(thresholdMask(maps[wi], cfg.tau ?? DEFAULT_TAU), gts[wi]))
        perConfig[k].set(t.word, list)
      })
    })
    if ((ci + 1) % 10 === 0)
      process.stderr.write(`${ci + 1}/${cases.length} prompts, ${((Date.now() - t0) / 1000).toFixed(0)} s\n`)
  }
  const mean = (a: number[]): number => a.reduce((s, v) => s + v, 0) / Math.max(1, a.length)
  const report = configs.map((cfg, k) => {
    const classes = Object.fromEntries([...perConfig[k].entries()].map(([w, v]) => [w, { mIoU: mean(v), n: v.length }]))
    const all = [...perConfig[k].values()].flat()
    return {
      config: cfg.name,
      classes,
      overall: mean(all),
      classMean: mean(Object.values(classes).map((c) => c.mIoU)),
      n: all.length,
    }
  })
  console.log(
    `${cases.length} ${split === 'heldout' ? 'held-out' : 'seen (training-combination)'} prompts, ${steps} DDIM steps, guidance ${guidance}, tau ${DEFAULT_TAU}; ${missingGt} targets skipped (colour absent from the image)`,
  )
  for (const r of report.filter((_, k) => !configs[k].explore)) {
    console.log(
      `\n${r.config}: overall mIoU ${r.overall.toFixed(3)} (n=${r.n}), mean over classes ${r.classMean.toFixed(3)}`,
    )
    for (const [w, v] of Object.entries(r.classes)) console.log(`  ${w.padEnd(9)} ${v.mIoU.toFixed(3)}  (n=${v.n})`)
  }
  // the methods side by side, per class
  const methods = report.filter((_, k) => k === 0 || configs[k].method !== undefined)
  console.log(`\nMethods side by side (mIoU at tau ${DEFAULT_TAU}):`)
  console.log(`  ${'class'.padEnd(9)} ${methods.map((r) => r.config.split(' (')[0]!.padStart(14)).join(' ')}`)
  for (const c of Object.keys(report[0]?.classes ?? {}))
    console.log(`  ${c.padEnd(9)} ${methods.map((r) => (r.classes[c]?.mIoU ?? NaN).toFixed(3).padStart(14)).join(' ')}`)
  console.log(`  ${'overall'.padEnd(9)} ${methods.map((r) => r.overall.toFixed(3).padStart(14)).join(' ')}`)

  const explore = report
    .map((r, k) => ({ ...r, res: configs[k].explore ? configs[k] : undefined }))
    .filter((r) => r.res)
    .sort((a, b) => b.overall - a.overall)
  const classNames = Object.keys(report[0]?.classes ?? {})
  console.log(
    `\nWhich layers/heads segment best (DAAM map of one layer${perHead ? ' or one head' : ''} alone, tau ${DEFAULT_TAU}):`,
  )
  console.log(`  ${'layer'.padEnd(66)} overall  ${classNames.map((c) => c.padStart(8)).join(' ')}`)
  for (const r of explore)
    console.log(
      `  ${r.config.padEnd(66)} ${r.overall.toFixed(3).padStart(7)}  ${classNames.map((c) => (r.classes[c]?.mIoU ?? NaN).toFixed(3).padStart(8)).join(' ')}`,
    )
  const json = arg('json', '')
  if (json)
    fs.writeFileSync(
      json,
      JSON.stringify({ split, prompts: cases.length, steps, guidance, tau: DEFAULT_TAU, report }, null, 2),
    )
  await traced.model.release()
}

// run as a script, not when scripts/knockout-table.ts imports buildCases
if (require.main === module) {
  main().catch((e: unknown) => {
    console.error(e instanceof Error ? e.stack : e)
    process.exit(1)
  })
}
