import { useLayoutEffect, useMemo, useRef, useState } from 'react'
import { mergedWordSpecs } from '../../../shared/heatmap/prompt-words'
import type { OverlaySpec } from '../../../shared/ipc/overlay'
import type { WordChip } from '../../../shared/ipc/payloads'
import type { HoverWord, OverlayView } from '../overlay/overlay-view'

interface Props {
  view: OverlayView | null
  spec: OverlaySpec | null
  /** The chips of the shown stream: the hover read-out ranks all their words. */
  chips: readonly WordChip[]
}

/** Mark set by a word click; the paint measures from it (see bench/click-overlay.ts). */
export const CLICK_MARK = 'word-click'
export const PAINT_MEASURE = 'word-click-to-overlay'
export const FRAME_MEASURE = 'word-click-to-frame'
/** Heat map + composition + putImageData alone (no React). */
export const DRAW_MEASURE = 'overlay-draw'

/**
 * The generated image with the overlay drawn on a canvas at the image's own size (so the pixels
 * are exactly what Save overlay writes); CSS scales it to the stage.
 */
export function ImageStage({ view, spec, chips }: Props): React.JSX.Element {
  const canvas = useRef<HTMLCanvasElement>(null)
  const errorLine = useRef<HTMLParagraphElement>(null)
  const [hover, setHover] = useState<{ x: number; y: number; left: number; top: number; words: HoverWord[] } | null>(
    null,
  )
  // One hover row per distinct word: a word typed several times averages its occurrences (DAAM).
  const hoverWords = useMemo(() => mergedWordSpecs(chips), [chips])

  useLayoutEffect(() => {
    const c = canvas.current
    const ctx = c?.getContext('2d')
    if (!c || !ctx || !view) return
    if (c.width !== view.image.width) c.width = view.image.width
    if (c.height !== view.image.height) c.height = view.image.height
    let failure = ''
    try {
      if (spec && view.heatmaps) {
        const t0 = performance.now()
        view.draw(ctx, spec)
        performance.measure(DRAW_MEASURE, { start: t0, end: performance.now() })
      } else view.drawImage(ctx)
    } catch (error) {
      view.drawImage(ctx)
      failure = error instanceof Error ? error.message : String(error)
    }
    const click = performance.getEntriesByName(CLICK_MARK, 'mark')[0]
    if (click) {
      // Click -> pixels on the canvas; and click -> the next frame, which shows them.
      performance.clearMarks(CLICK_MARK)
      performance.measure(PAINT_MEASURE, { start: click.startTime, end: performance.now() })
      requestAnimationFrame(() =>
        performance.measure(FRAME_MEASURE, { start: click.startTime, end: performance.now() }),
      )
    }
    if (errorLine.current) {
      errorLine.current.textContent = failure
      errorLine.current.hidden = !failure
    }
  }, [view, spec])

  const onMove = (e: React.MouseEvent<HTMLCanvasElement>): void => {
    if (!view?.heatmaps || !spec) return setHover(null)
    const rect = e.currentTarget.getBoundingClientRect()
    const x = Math.min(
      view.image.width - 1,
      Math.max(0, Math.floor(((e.clientX - rect.left) / rect.width) * view.image.width)),
    )
    const y = Math.min(
      view.image.height - 1,
      Math.max(0, Math.floor(((e.clientY - rect.top) / rect.height) * view.image.height)),
    )
    setHover({
      x,
      y,
      left: e.clientX - rect.left,
      top: e.clientY - rect.top,
      words: view.hover(x, y, hoverWords, spec),
    })
  }

  const w = view?.image.width ?? 0
  const h = view?.image.height ?? 0
  return (
    <div className="image-frame" style={w && h ? { aspectRatio: `${w} / ${h}` } : undefined}>
      <canvas
        ref={canvas}
        className="image-canvas"
        data-testid="image-canvas"
        role="img"
        aria-label={
          spec ? `Heat map of ${spec.words.map((x) => x.label).join(', ')} over the image` : 'Generated image'
        }
        data-overlay={spec ? spec.words.map((x) => x.label).join(',') : ''}
        onMouseMove={onMove}
        onMouseLeave={() => setHover(null)}
      />
      {hover && hover.words.length > 0 && (
        <div className="hover-card" data-testid="hover-card" style={{ left: hover.left + 14, top: hover.top + 14 }}>
          <div className="muted">
            pixel {hover.x}, {hover.y}
          </div>
          {hover.words.map((hw) => (
            <div key={hw.label} className="hover-row">
              <span>{hw.label}</span>
              <span className="share-bar">
                <span style={{ width: `${Math.round(hw.share * 100)}%` }} />
              </span>
              <b>{Math.round(hw.share * 100)}%</b>
            </div>
          ))}
        </div>
      )}
      <p ref={errorLine} className="field-error overlay-error" role="alert" hidden />
    </div>
  )
}
