/**
 * Evidence for attributing existing images (src/main/attention/attribute.ts) on the bundled model,
 * with the same scorer as `npm run eval` (word map, per-word min-max, tau 0.4, IoU with the truth):
 *
 *   A. 20 images the model generates (held-out prompts, 20 DDIM steps, guidance 5, truth by colour
 *      keying): mIoU of the maps recorded during generation next to the maps from attributing the
 *      saved PNG with its prompt, for several noise ranges and timestep counts (the defaults come
 *      from here), and conditional-only against guided attribution (maps and time).
 *   B. Images of the synthetic world rendered directly, with exact masks, exported by
 *      models/training/export_world_eval.py (--world DIR): mIoU of the attributed maps.
 *
 *   npx tsx bench/attribution-eval.ts [--world /tmp/world-eval] [--n 20] [--json out.json]
 *
 * The last stdout line is JSON with every figure.
 */
import fs from 'node:fs'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { ATTRIBUTE_DEFAULTS, attributeImage, type AttributeSettings } from '../src/main/attention/attribute'
import { loadTracedModel } from '../src/main/attention/trace'
import { traceGeneration } from '../src/main/attention/trace'
import { fitImage } from '../src/main/engine/image-input'
import type { AttentionRecord } from '../src/shared/attention-record'
import { Heatmaps } from '../src/shared/heatmap/heatmaps'
import { DEFAULT_TAU, iou, thresholdMask } from '../src/shared/heatmap/masks'
import { selectWordSpecs } from '../src/shared/heatmap/prompt-words'
import { readNpy } from '../src/shared/npy'
import type { PromptEncoding } from '../src/shared/tokenizer'
import world from '../models/daam-shapes/world.json'
import { colourMask } from '../scripts/colour-key'
import { EVAL_GENERATION } from '../scripts/eval'

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: path.join(__dirname, '..', 'models', 'daam-shapes') },
    world: { type: 'string' },
    n: { type: 'string', default: '20' },
    json: { type: 'string' },
  },
})

const art = (w: string): string => (/^[aeiou]/.test(w) ? 'an' : 'a')

/** Held-out prompts in the eval's templates: shapes (with their colour) and snowmen (hat, scarf). */
function cases(n: number): { prompt: string; seed: number; targets: { word: string; colour: string }[] }[] {
  const shapes = world.heldOut.shapes as [string, string][]
  const acc = world.heldOut.accessories as [string, string][]
  const colours = Object.keys(world.palette)
  const out = []
  for (let i = 0; out.length < Math.ceil(n * 0.6); i++) {
    const [c1, s1] = shapes[i % shapes.length]!
    const s2 = world.shapes.filter((s) => s !== s1)[i % 2]!
    const c2 = colours.filter((c) => c !== c1)[(i * 7) % 5]!
    out.push({
      prompt: `${art(c1)} ${c1} ${s1} and ${art(c2)} ${c2} ${s2}`,
      seed: 5000 + i,
      targets: [
        { word: s1, colour: c1 },
        { word: s2, colour: c2 },
      ],
    })
  }
  for (let i = 0; out.length < n; i++) {
    const [h, s] = acc[i % acc.length]!
    out.push({
      prompt: `a snowman wearing ${art(h)} ${h} hat and ${art(s)} ${s} scarf around its neck`,
      seed: 6000 + i,
      targets: [
        { word: 'hat', colour: h },
        { word: 'scarf', colour: s },
      ],
    })
  }
  return out
}

function scores(
  record: AttentionRecord,
  encoding: PromptEncoding,
  size: number,
  truths: { word: string; mask: Uint8Array }[],
) {
  const { words, missing } = selectWordSpecs(
    encoding,
    truths.map((t) => t.word),
  )
  if (missing.length) throw new Error(`words not in the prompt: ${missing.join(', ')}`)
  const maps = new Heatmaps(record, size, size).wordMaps(words).maps
  return truths.map((t, i) => iou(thresholdMask(maps[i]!, DEFAULT_TAU), t.mask))
}

const mean = (a: number[]): number => a.reduce((s, v) => s + v, 0) / Math.max(1, a.length)

async function main(): Promise<void> {
  const traced = await loadTracedModel(values.model!, { threads: 2 })
  const n = Number(values.n)
  const configs: { name: string; settings: AttributeSettings }[] = [
    { name: 'noise 0.1-0.5, 8 timesteps', settings: { timesteps: 8, noise: { from: 0.1, to: 0.5 }, seed: 0 } },
    { name: 'noise 0.3-0.8, 8 timesteps', settings: { timesteps: 8, noise: { from: 0.3, to: 0.8 }, seed: 0 } },
    { name: 'noise 0.5-0.95, 8 timesteps', settings: { timesteps: 8, noise: { from: 0.5, to: 0.95 }, seed: 0 } },
    { name: 'noise 0.1-0.95, 8 timesteps', settings: { timesteps: 8, noise: { from: 0.1, to: 0.95 }, seed: 0 } },
    { name: 'noise 0.3-0.8, 4 timesteps', settings: { timesteps: 4, noise: { from: 0.3, to: 0.8 }, seed: 0 } },
    { name: 'noise 0.3-0.8, 16 timesteps', settings: { timesteps: 16, noise: { from: 0.3, to: 0.8 }, seed: 0 } },
  ]
  const gen: number[] = []
  const attr = configs.map(() => [] as number[])
  const times = configs.map(() => [] as number[])
  let guidedDiff = 0
  const guidedMs: number[] = []
  const condMs: number[] = []
  let skipped = 0
  for (const [ci, c] of cases(n).entries()) {
    const g = await traceGeneration(traced, {
      prompt: c.prompt,
      seed: c.seed,
      ...EVAL_GENERATION,
    })
    const truths = c.targets.map((t) => ({ word: t.word, mask: colourMask(g.rgb, t.colour) }))
    const kept = truths.filter((t) => t.mask.some((v) => v))
    skipped += truths.length - kept.length
    if (kept.length === 0) continue
    gen.push(...scores(g.record!, g.encoding, g.width, kept))
    const fitted = await fitImage(g.png, g.width, g.height)
    for (const [k, cfg] of configs.entries()) {
      const a = await attributeImage(traced, fitted, c.prompt, cfg.settings)
      attr[k]!.push(...scores(a.record, a.encoding, g.width, kept))
      times[k]!.push(a.timings.encodeMs + a.timings.unetMs)
    }
    // conditional only vs guided, default settings: same maps?
    const cond = await attributeImage(traced, fitted, c.prompt, ATTRIBUTE_DEFAULTS)
    const guided = await attributeImage(traced, fitted, c.prompt, { ...ATTRIBUTE_DEFAULTS, guided: true })
    condMs.push(cond.timings.unetMs)
    guidedMs.push(guided.timings.unetMs)
    const tm1 = new Heatmaps(cond.record, g.width, g.height).tokenMaps()
    const tm2 = new Heatmaps(guided.record, g.width, g.height).tokenMaps()
    for (let i = 0; i < tm1.data.length; i++) guidedDiff = Math.max(guidedDiff, Math.abs(tm1.data[i]! - tm2.data[i]!))
    process.stderr.write(`${ci + 1}/${n}\n`)
  }
  const generated = {
    images: n,
    targets: gen.length,
    skippedTargets: skipped,
    generationTimeMIoU: mean(gen),
    attributed: configs.map((cfg, k) => ({ config: cfg.name, mIoU: mean(attr[k]!), msPerImage: mean(times[k]!) })),
    conditionalVsGuided: { maxTokenMapDiff: guidedDiff, condUnetMs: mean(condMs), guidedUnetMs: mean(guidedMs) },
  }
  console.log(`A. ${n} generated images, ${gen.length} targets: generation-time maps mIoU ${mean(gen).toFixed(3)}`)
  for (const a of generated.attributed)
    console.log(`   attributed, ${a.config}: mIoU ${a.mIoU.toFixed(3)} (${a.msPerImage.toFixed(0)} ms/image)`)
  console.log(
    `   conditional only vs guided: largest token-map difference ${guidedDiff.toExponential(2)}; U-Net ${mean(condMs).toFixed(0)} vs ${mean(guidedMs).toFixed(0)} ms`,
  )

  let rendered: { images: number; targets: number; mIoU: number; perWord: Record<string, number> } | null = null
  if (values.world) {
    const dir = values.world
    const index = JSON.parse(fs.readFileSync(path.join(dir, 'index.json'), 'utf8')) as {
      size: number
      items: { image: string; caption: string; targets: { word: string; mask: string }[] }[]
    }
    const all: number[] = []
    const perWord = new Map<string, number[]>()
    let images = 0
    for (const item of index.items) {
      if (item.targets.length === 0) continue
      images++
      const img = readNpy(new Uint8Array(fs.readFileSync(path.join(dir, item.image))))
      const rgb = new Uint8Array(img.data as Uint8Array)
      const truths = item.targets.map((t) => ({
        word: t.word,
        mask: new Uint8Array(readNpy(new Uint8Array(fs.readFileSync(path.join(dir, t.mask)))).data as Uint8Array),
      }))
      const a = await attributeImage(traced, { rgb, width: index.size, height: index.size }, item.caption)
      const s = scores(a.record, a.encoding, index.size, truths)
      all.push(...s)
      truths.forEach((t, i) => perWord.set(t.word, [...(perWord.get(t.word) ?? []), s[i]!]))
    }
    rendered = {
      images,
      targets: all.length,
      mIoU: mean(all),
      perWord: Object.fromEntries([...perWord].map(([w, v]) => [w, mean(v)])),
    }
    console.log(
      `B. ${images} rendered world images, ${all.length} targets (exact masks): attributed mIoU ${mean(all).toFixed(3)}`,
    )
    for (const [w, v] of Object.entries(rendered.perWord)) console.log(`   ${w.padEnd(9)} ${v.toFixed(3)}`)
  }
  const summary = { defaults: ATTRIBUTE_DEFAULTS, generated, rendered }
  if (values.json) fs.writeFileSync(values.json, `${JSON.stringify(summary, null, 2)}\n`)
  console.log(JSON.stringify(summary))
  await traced.model.release()
}

void main()
