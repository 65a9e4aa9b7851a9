/**
 * The time-lapse export on the bundled model: an animated WebP with one frame per step whose right
 * panel is, pixel for pixel (lossless), the composer's map of the word for steps 1..k and whose left
 * panel is that step's live preview.
 */
import sharp from 'sharp'
import { describe, expect, it } from 'vitest'
import { traceGeneration } from '../src/main/attention/trace'
import { renderTimelapse, type StepPreview } from '../src/main/saving/timelapse'
import { Heatmaps } from '../src/shared/heatmap/heatmaps'
import { enlargeRgb } from '../src/shared/heatmap/live-frame'
import { DEFAULT_OVERLAY, renderOverlay } from '../src/shared/heatmap/overlay'
import { heatmapWords } from '../src/shared/heatmap/prompt-words'
import { loadBundled } from './attention/bundled-model'

describe('time-lapse export', () => {
  it('writes one frame per step: preview | map of steps 1..k, with a counter strip', async () => {
    const traced = await loadBundled()
    const previews: StepPreview[] = []
    const r = await traceGeneration(
      traced,
      { prompt: 'a red circle above a blue square', steps: 6, seed: 11 },
      { previewEvery: 1, onProgress: (p) => p.preview && (previews[p.step - 1] = p.preview) },
    )
    const record = r.record!
    const [word] = heatmapWords(r.encoding, 'circle').words
    const image = { data: r.rgb, width: r.width, height: r.height, channels: 3 as const }
    const t = await renderTimelapse({ record, image, word: word!, settings: DEFAULT_OVERLAY, previews })
    expect(t.frames).toBe(6)
    const meta = await sharp(t.webp, { animated: true }).metadata()
    expect(meta.format).toBe('webp')
    expect(meta.pages).toBe(6)
    expect(meta.pageHeight).toBe(t.height)
    expect(meta.width).toBe(t.width)
    expect(meta.delay).toEqual([250, 250, 250, 250, 250, 1000])

    const { data } = await sharp(t.webp, { animated: true }).raw().ensureAlpha().toBuffer({ resolveWithObject: true })
    const pw = t.width / 2
    const ph = r.height // 128 px model: panels at the image's own size
    expect(pw).toBe(r.width)
    const heatmaps = new Heatmaps(record, pw, ph)
    for (const k of [0, 3, 5]) {
      const want = renderOverlay(heatmaps, image, {
        ...DEFAULT_OVERLAY,
        opacity: 1,
        words: [{ label: 'circle', tokens: [...word!.tokens] }],
        stream: 'cond',
        filter: { steps: { from: 0, to: k } },
      })
      // the last frame shows the decoded image, the others that step's preview
      const left = k === 5 ? image : enlargeRgb(previews[k]!.rgb, previews[k]!.width, previews[k]!.height, pw, ph)
      let mapDiff = 0
      let leftDiff = 0
      for (let y = 0; y < ph; y++)
        for (let x = 0; x < pw; x++)
          for (let c = 0; c < 3; c++) {
            const row = (k * t.height + y) * t.width
            mapDiff = Math.max(mapDiff, Math.abs(data[(row + pw + x) * 4 + c]! - want[(y * pw + x) * 4 + c]!))
            leftDiff = Math.max(leftDiff, Math.abs(data[(row + x) * 4 + c]! - left.data[(y * pw + x) * 3 + c]!))
          }
      expect(mapDiff, `map of frame ${k + 1}`).toBe(0)
      expect(leftDiff, `preview of frame ${k + 1}`).toBe(0)
    }
    // the map changes over the steps (it is not one frame repeated)
    const frame = (k: number): Buffer => data.subarray(k * t.width * t.height * 4, (k + 1) * t.width * t.height * 4)
    expect(frame(0).equals(frame(5))).toBe(false)
  }, 120_000)
})
