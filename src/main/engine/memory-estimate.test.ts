/**
 * The memory estimate on the bundled model's real graphs: the 64 GiB buffer a 2048² run asks for,
 * agreement with the peaks bench/memory-peaks.ts measured, and the refusal message that names the
 * largest size that fits.
 */
import { totalmem } from 'node:os'
import { resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import {
  availableMemory,
  estimateGenerationMemory,
  judgeMemory,
  largestFittingSize,
  readMemoryProfile,
  type MemoryProfile,
  siteLevel,
} from './memory-estimate'
import { inspectModelFolder } from './model-folder'

const folder = inspectModelFolder(resolve(__dirname, '../../../models/daam-shapes'))
const profile = readMemoryProfile(folder)
const GiB = 1024 ** 3

/** Peak RSS minus RSS after loading, one guided step (batch 2), measured with bench/memory-peaks.ts. */
const MEASURED_EXTRA_GB: [number, number][] = [
  [384, 0.33],
  [512, 1.01],
  [768, 3.43],
]

describe('memory estimate', () => {
  it('reads the attention sites and their resolution from the graph', () => {
    // the bundled U-Net (3 blocks): attention in down_blocks.0/1, the mid block (level 2), up_blocks.1/2; 2 heads
    expect(profile.unetSites.filter((s) => s.kind === 'self').map((s) => s.level)).toEqual([0, 1, 2, 1, 1, 0, 0])
    expect(profile.unetSites.every((s) => s.heads === 2)).toBe(true)
    expect(profile.vaeAttentionSites).toBe(0)
    expect(profile.elementBytes).toBe(4)
    expect(siteLevel('/up_blocks.3/attentions.2/transformer_blocks.0/attn1/Softmax', 4)).toBe(0)
    expect(siteLevel('/mid_block/attentions.0/attn1/Softmax', 4)).toBe(3)
    expect(siteLevel('Softmax_17', 4)).toBe(0)
  })

  it('2048² on the bundled model needs one 64 GiB buffer (what ONNX Runtime asked for)', () => {
    const e = estimateGenerationMemory(profile, { width: 2048, height: 2048, batch: 2 })
    expect(e.largestBufferBytes).toBe(64 * GiB)
    expect(e.extraBytes).toBeGreaterThan(3 * 64 * GiB)
    // without guidance the batch halves, and so does the buffer
    expect(estimateGenerationMemory(profile, { width: 2048, height: 2048, batch: 1 }).largestBufferBytes).toBe(32 * GiB)
  })

  it('agrees with the measured peaks within 25 %', () => {
    for (const [side, gb] of MEASURED_EXTRA_GB) {
      const est = estimateGenerationMemory(profile, { width: side, height: side, batch: 2 }).extraBytes / GiB
      expect(Math.abs(est - gb) / gb, `${side}²: estimate ${est.toFixed(2)} GB, measured ${gb} GB`).toBeLessThan(0.25)
    }
  })

  it('counts the larger of the U-Net and VAE peaks, not their sum, for a model without the CPU arena', () => {
    // SD 1.5's attention sites (self and cross at levels 0,0,1,1,2,2 down, 3 mid, 2,2,2,1,1,1,0,0,0 up), 8 heads
    const levels = [0, 0, 1, 1, 2, 2, 3, 2, 2, 2, 1, 1, 1, 0, 0, 0]
    const sd15: MemoryProfile = {
      vaeScale: 8,
      elementBytes: 4,
      unetSites: levels.flatMap((level) => [
        { level, heads: 8, kind: 'self' as const },
        { level, heads: 8, kind: 'cross' as const },
      ]),
      unetChannels: 320,
      vaeChannels: 128,
      vaeAttentionSites: 1,
      arena: false,
    }
    const req = { width: 512, height: 512, batch: 2 }
    const lean = estimateGenerationMemory(sd15, req).extraBytes
    const kept = estimateGenerationMemory({ ...sd15, arena: true }, req).extraBytes
    const vae = 3 * 128 * 512 * 512 * 4 + 3 * 4096 * 4096 * 4
    expect(kept - lean).toBe(vae) // the VAE's activations no longer sit on top of the U-Net's
    // bench/sd15-scale.ts on the SD-1.5-shape model at 512², hooked: 3.04e9 bytes over the loaded model
    expect(Math.abs(lean - 3.04e9) / 3.04e9).toBeLessThan(0.25)
    expect(profile.arena).toBe(true) // the bundled model (13 MB) keeps the arena
  })

  it('refuses with the sizes and the largest size that fits, warns when close', () => {
    const free = 6.2e9
    const v = judgeMemory(profile, { width: 1024, height: 1024, batch: 2 }, free, 32, 2048)
    expect(v.level).toBe('refuse')
    const fit = v.largestFitting!
    expect(v.message).toMatch(
      new RegExp(
        `^Not enough memory: 1024×1024 needs about \\d+ GB; this machine has 5\\.8 GB free; the largest size that fits is ${fit.width}×${fit.height}\\.$`,
      ),
    )
    // the size it names fits with margin, the next step up does not
    const at = (s: number) => estimateGenerationMemory(profile, { width: s, height: s, batch: 2 }).extraBytes
    expect(fit.width).toBe(fit.height)
    expect(at(fit.width)).toBeLessThanOrEqual(free * 0.75)
    expect(at(fit.width + 32)).toBeGreaterThan(free * 0.75)
    expect(judgeMemory(profile, { width: fit.width, height: fit.height, batch: 2 }, free, 32, 2048).level).toBe('ok')

    // close to the limit: allowed, with a warning
    const close = at(fit.width + 32) / 0.9
    const w = judgeMemory(profile, { width: fit.width + 32, height: fit.width + 32, batch: 2 }, close, 32, 2048)
    expect(w.level).toBe('warn')
    expect(w.message).toMatch(/may be slow or fail/)

    // a wide request keeps its aspect ratio
    const wide = largestFittingSize(profile, { width: 2048, height: 1024, batch: 2 }, free * 0.75, 32, 2048)!
    expect(wide.width).toBeGreaterThan(wide.height)
    expect(Math.abs(wide.width / wide.height - 2)).toBeLessThan(0.2)

    expect(judgeMemory(profile, { width: 2048, height: 2048, batch: 2 }, 1e4, 32, 2048).message).toMatch(
      /no image size of this model fits/,
    )
  })

  it('reads the machine’s available memory', () => {
    const a = availableMemory()
    expect(a).toBeGreaterThan(0)
    expect(a).toBeLessThanOrEqual(totalmem())
  })
})
