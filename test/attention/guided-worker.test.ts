/**
 * The renderer's image-guided precompute worker (src/renderer/src/overlay/guided-worker-core.ts)
 * on a real generation of the bundled model: its maps are exactly the ones a click computes
 * inline (Heatmaps' 'guided' method), in every normalisation, and a newer job stops the one
 * underway.
 */
import { describe, expect, it } from 'vitest'
import { traceGeneration } from '../../src/main/attention/trace'
import { Heatmaps } from '../../src/shared/heatmap/heatmaps'
import { selectWordSpecs } from '../../src/shared/heatmap/prompt-words'
import type { Normalization, WordSpec } from '../../src/shared/heatmap/word-maps'
import { loadBundled } from './bundled-model'
import { GuidedMapCache, type GuidedJobMessage, type GuidedResult } from '../../src/renderer/src/overlay/guided-cache'
import { GuidedWorkerCore } from '../../src/renderer/src/overlay/guided-worker-core'
import { guideAtSize } from '../../src/shared/heatmap/image-guided'
import type { GuidedReply, GuidedThumbsResult } from '../../src/renderer/src/overlay/guided-cache'

const PROMPT = 'a snowman wearing a red hat and a blue scarf around its neck'

async function generation(
  queries: string[],
): Promise<{ hm: Heatmaps; image: { data: Uint8Array; width: number; height: number }; words: WordSpec[] }> {
  const g = await traceGeneration(await loadBundled(), { prompt: PROMPT, seed: 5, steps: 8, guidance: 5 })
  const image = { data: g.rgb, width: g.width, height: g.height }
  const hm = new Heatmaps(g.record!, g.width, g.height, { ...image, channels: 3 })
  const { words } = selectWordSpecs(g.encoding, queries)
  expect(words).toHaveLength(queries.length)
  return { hm, image, words }
}

describe('GuidedWorkerCore on the bundled model', () => {
  it("computes exactly the click path's guided maps, and they differ from DAAM's", async () => {
    const { hm, image, words } = await generation(['red', 'hat', 'scarf', 'neck'])
    const results: GuidedResult[] = []
    const core = new GuidedWorkerCore((r) => results.push(r as GuidedResult))
    await core.receive({ type: 'image', image: 1, ...image, channels: 3 })
    const filter = { resolutions: [16, 8] }
    for (const normalization of ['word', 'absolute', 'across'] as Normalization[]) {
      results.length = 0
      const cache = new GuidedMapCache()
      const settings = { filter, stream: 'cond' as const, normalization }
      const job = cache.want(settings, words)!
      const tokenMaps = structuredClone(hm.tokenMaps(filter))
      await core.receive({ type: 'job', job: job.job, image: 1, tokenMaps, words: job.words, normalization })
      expect(results.every((r) => cache.accept(r))).toBe(true)
      const inline = hm.wordMaps(words, { filter, normalization, method: 'guided' }).maps
      const daam = hm.wordMaps(words, { filter, normalization }).maps
      words.forEach((w, i) => {
        const pre = cache.lookup(settings, w.tokens)!
        expect(pre, `${w.label} ${normalization}`).toEqual(inline[i])
        let diff = 0
        for (let p = 0; p < pre.length; p++) diff = Math.max(diff, Math.abs(pre[p]! - daam[i]![p]!))
        expect(diff, `${w.label} ${normalization}`).toBeGreaterThan(0.02) // not DAAM passed through
      })
    }
  }, 120_000)

  it('stops a job when a newer one arrives, and reports a job without its image', async () => {
    const { hm, image, words } = await generation(['snowman', 'red', 'hat', 'scarf'])
    const tokenMaps = hm.tokenMaps({})
    const job = (id: number, ws: WordSpec[], img = 1): GuidedJobMessage => ({
      type: 'job',
      job: id,
      image: img,
      tokenMaps,
      words: ws,
      normalization: 'word',
    })
    const results: GuidedResult[] = []
    let second: Promise<void> | undefined
    // the pause between words is where the worker's event loop hands over a newer message: here a
    // second job arrives once the first job has delivered its first word
    const core = new GuidedWorkerCore(
      (r) => results.push(r as GuidedResult),
      async () => {
        if (results.length === 1 && !second) {
          second = Promise.resolve()
          second = core.receive(job(2, words.slice(2)))
        }
      },
    )
    await core.receive({ type: 'image', image: 1, ...image, channels: 3 })
    await core.receive(job(1, words))
    await second
    expect(results.map((r) => ('error' in r ? r.error : `${r.job}:${r.tokens}`))).toEqual([
      `1:${words[0]!.tokens.join('.')}`,
      `2:${words[2]!.tokens.join('.')}`,
      `2:${words[3]!.tokens.join('.')}`,
    ])
    results.length = 0
    await core.receive(job(3, words, 2))
    expect(results).toEqual([{ job: 3, error: 'job 3: image 2 was not sent' }])
  }, 120_000)

  it("draws the per-layer grid's thumbnails as Heatmaps does at cell size, guided by the shrunk image", async () => {
    const { hm, image, words } = await generation(['scarf'])
    const replies: GuidedReply[] = []
    const core = new GuidedWorkerCore((r) => replies.push(r))
    await core.receive({ type: 'image', image: 1, ...image, channels: 3 })
    const CELL = 64
    const thumbs = new Heatmaps(hm.record, CELL, CELL, guideAtSize({ ...image, channels: 3 }, CELL, CELL))
    const layers = hm.record.layers.map((l) => l.index)
    const cells = layers.map((l) => thumbs.tokenMaps({ layers: [l] }))
    await core.receive({
      type: 'thumbs',
      job: 9,
      image: 1,
      width: CELL,
      height: CELL,
      word: words[0]!,
      normalization: 'word',
      cells: [...cells, null],
    })
    expect(replies).toHaveLength(1)
    const got = (replies[0] as GuidedThumbsResult).thumbs
    expect(got).toHaveLength(layers.length + 1)
    expect(got[layers.length]).toBeNull()
    layers.forEach((l, i) => {
      const want = thumbs.wordMaps(words, { filter: { layers: [l] }, method: 'guided' }).maps[0]!
      expect(got[i], `layer ${l}`).toEqual(want)
      expect(got[i]).not.toEqual(thumbs.wordMaps(words, { filter: { layers: [l] } }).maps[0])
    })
  }, 120_000)
})
