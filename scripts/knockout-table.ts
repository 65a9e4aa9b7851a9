/**
 * Agreement table of issue 17: for the demo prompt and for held-out prompts of the bundled model
 * (scripts/eval.ts buildCases, combinations never drawn in training), knock out every word
 * (src/main/attention/knockout.ts) and report its attention share, change size and agreement
 * (IoU of the word's tau mask with the change map's tau mask), plus seconds per knock-out.
 * Prints Markdown tables (the README's) and optionally writes JSON.
 * Run: npx tsx scripts/knockout-table.ts [--n 20] [--model models/daam-shapes] [--json out.json]
 */
import * as fs from 'node:fs'
import { knockOutAll, type KnockoutResult } from '../src/main/attention/knockout'
import { loadTracedModel, traceGeneration, type TracedModel } from '../src/main/attention/trace'
import { DISAGREE_BELOW } from '../src/shared/heatmap/change-map'
import { promptWordSpecs } from '../src/shared/heatmap/prompt-words'
import { DEMO_PROMPT, DEMO_SEED, type GenerationParamsInput } from '../src/shared/generation'
import { buildCases } from './eval'

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback
}

async function table(traced: TracedModel, params: GenerationParamsInput): Promise<KnockoutResult[]> {
  const g = await traceGeneration(traced, params)
  if (!g.record) throw new Error('this model has no attention record')
  return knockOutAll(traced, { ...g, record: g.record }, promptWordSpecs(g.encoding))
}

const pct = (v: number): string => `${(100 * v).toFixed(1)} %`

async function main(): Promise<void> {
  const n = Number(arg('n', '20'))
  const traced = await loadTracedModel(arg('model', 'models/daam-shapes'), { threads: 2 })
  const out: { prompt: string; seed: number; words: Omit<KnockoutResult, 'rgb' | 'png' | 'change'>[] }[] = []
  const keep = (r: KnockoutResult) => {
    const { rgb: _r, png: _p, change: _c, ...rest } = r
    return rest
  }
  const demo = await table(traced, { prompt: DEMO_PROMPT, seed: DEMO_SEED })
  out.push({ prompt: DEMO_PROMPT, seed: DEMO_SEED, words: demo.map(keep) })
  console.log(`### Demo prompt, seed ${DEMO_SEED}\n`)
  console.log('| word | attention share | change size | agreement | flag |\n|---|---|---|---|---|')
  for (const r of demo) {
    console.log(
      `| ${r.word} | ${pct(r.attentionShare)} | ${pct(r.changeSize)} | ${r.agreement.toFixed(2)} | ${r.disagree ? 'disagree' : ''} |`,
    )
  }
  const cases = buildCases(n, 'heldout')
  const byWord = new Map<string, { n: number; share: number; size: number; agree: number; flagged: number }>()
  const ms: number[] = demo.map((r) => r.ms)
  for (const [i, c] of cases.entries()) {
    const rows = await table(traced, { prompt: c.prompt, seed: c.seed })
    out.push({ prompt: c.prompt, seed: c.seed, words: rows.map(keep) })
    for (const r of rows) {
      ms.push(r.ms)
      const e = byWord.get(r.word) ?? { n: 0, share: 0, size: 0, agree: 0, flagged: 0 }
      e.n++
      e.share += r.attentionShare
      e.size += r.changeSize
      e.agree += r.agreement
      e.flagged += r.disagree ? 1 : 0
      byWord.set(r.word, e)
    }
    process.stderr.write(`${i + 1}/${cases.length} prompts\n`)
  }
  console.log(`\n### ${cases.length} held-out prompts, per word (means)\n`)
  console.log(
    '| word | n | attention share | change size | agreement | flagged (< ' +
      DISAGREE_BELOW +
      ') |\n|---|---|---|---|---|---|',
  )
  const sorted = [...byWord.entries()].sort((a, b) => b[1].agree / b[1].n - a[1].agree / a[1].n)
  for (const [w, e] of sorted) {
    console.log(
      `| ${w} | ${e.n} | ${pct(e.share / e.n)} | ${pct(e.size / e.n)} | ${(e.agree / e.n).toFixed(2)} | ${e.flagged}/${e.n} |`,
    )
  }
  ms.sort((a, b) => a - b)
  console.log(`\nknock-outs: ${ms.length}, median ${(ms[ms.length >> 1] / 1000).toFixed(2)} s each`)
  const json = arg('json', '')
  if (json) fs.writeFileSync(json, JSON.stringify(out, null, 2))
  await traced.model.release()
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.stack : e)
  process.exit(1)
})
