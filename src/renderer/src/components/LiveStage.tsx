/**
 * The image area while a generation runs (App shows LiveStage in place of ImageStage, LiveWords in
 * place of the words panel): the forming image enlarged, with the picked words' live maps drawn
 * over it after every step, and the prompt's word chips to pick them (the chips come with the
 * first progress event). The maps are the coarse
 * layers' attention summed over the steps so far (src/shared/live-attention.ts), drawn by the same
 * overlay composer as finished maps, with the overlay controls' look (mode, colours, opacity, tau).
 */
import { useLayoutEffect, useMemo, useRef } from 'react'
import { enlargeRgb, renderLiveOverlay } from '../../../shared/heatmap/live-frame'
import type { OverlayScratch } from '../../../shared/heatmap/overlay'
import type { ProgressEvent, WordChip } from '../../../shared/ipc/payloads'
import type { LiveRecord } from '../../../shared/live-attention'
import { nextSelection, toSpec, type ChipSelection, type OverlaySettings } from '../state/overlay-spec'
import { WordChips } from './WordChips'

/** Live frames are drawn at least this wide (the preview is at latent size, 1/8 of the image). */
const LIVE_SIDE = 256

/** The chips picked by text: the first enabled chip of each label. */
function liveSelection(chips: readonly WordChip[], labels: readonly string[]): ChipSelection {
  const picked = labels.flatMap((l) => chips.filter((c) => c.text === l && !c.disabledReason).slice(0, 1))
  return { stream: 'cond', indices: picked.map((c) => c.index) }
}

export function LiveStage({
  progress,
  live,
  chips,
  labels,
  settings,
}: {
  progress: ProgressEvent | null
  live: LiveRecord
  chips: WordChip[]
  /** The picked words, by text (kept across generations of similar prompts). */
  labels: string[]
  settings: OverlaySettings
}): React.JSX.Element {
  const canvas = useRef<HTMLCanvasElement>(null)
  const scratch = useRef<OverlayScratch>({})
  const selection = useMemo(() => liveSelection(chips, labels), [chips, labels])

  useLayoutEffect(() => {
    const c = canvas.current
    const ctx = c?.getContext('2d')
    const preview = progress?.preview
    if (!c || !ctx || !preview) return
    const k = Math.max(1, Math.ceil(LIVE_SIDE / Math.max(preview.width, preview.height)))
    const image = enlargeRgb(preview.rgb, preview.width, preview.height, preview.width * k, preview.height * k)
    if (c.width !== image.width) c.width = image.width
    if (c.height !== image.height) c.height = image.height
    const record = live.record()
    const spec = record ? toSpec(chips, selection, { ...settings, step: null }, record.steps) : null
    let rgba: Uint8ClampedArray
    if (spec && record) {
      rgba = renderLiveOverlay(record, image, spec, scratch.current)
      c.dataset.liveSteps = String(record.steps)
    } else {
      rgba = new Uint8ClampedArray(image.width * image.height * 4)
      for (let i = 0; i < image.width * image.height; i++) {
        rgba[i * 4] = image.data[i * 3]!
        rgba[i * 4 + 1] = image.data[i * 3 + 1]!
        rgba[i * 4 + 2] = image.data[i * 3 + 2]!
        rgba[i * 4 + 3] = 255
      }
    }
    c.dataset.overlay = spec ? spec.words.map((w) => w.label).join(',') : ''
    ctx.putImageData(new ImageData(new Uint8ClampedArray(rgba), image.width, image.height), 0, 0)
  }, [progress, live, chips, selection, settings])

  return (
    <div className="image-frame live">
      <canvas
        ref={canvas}
        className="image-canvas preview"
        data-testid="live-preview"
        aria-label="The image forming, with the picked words' live maps"
        width={16}
        height={16}
      />
      {!progress && <p className="muted preview-wait">Starting…</p>}
    </div>
  )
}

/** The prompt's chips while it generates (under the stage, where the finished image's chips go). */
export function LiveWords({
  chips,
  labels,
  colors,
  onLabels,
}: {
  chips: WordChip[]
  labels: string[]
  colors: string[]
  onLabels: (labels: string[]) => void
}): React.JSX.Element {
  const selection = useMemo(() => liveSelection(chips, labels), [chips, labels])
  return (
    <div className="words-area live-words">
      <div className="section-label">
        Live maps <span className="muted small">· pick words to watch their attention settle</span>
      </div>
      {chips.length > 0 ? (
        <WordChips
          label="Live prompt words"
          testId="live-chips"
          stream="cond"
          chips={chips}
          selection={selection}
          colors={colors}
          onPick={(_, index, additive) => {
            const next = nextSelection(selection, 'cond', index, additive)
            onLabels(next.indices.map((i) => chips.find((c) => c.index === i)!.text))
          }}
        />
      ) : (
        <p className="muted small">The words appear with the first step.</p>
      )}
    </div>
  )
}
