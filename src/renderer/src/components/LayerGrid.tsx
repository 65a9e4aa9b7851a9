/**
 * Issue 16 §3: small multiples of the picked word's map, one cell per recorded layer (and per
 * head when the record was made per head), each cell clickable to show that layer (head) alone on
 * the canvas; "All layers" goes back to the resolution toggles. Rendered by App under the overlay
 * controls when exactly one word is picked. The cells are 64x64 maps from their own Heatmaps over
 * the same record (aggregating one layer is cheap, and 64x64 upsampling keeps a full grid of 21
 * cells at a few milliseconds), drawn with the overlay's colour map. Under the image-guided method
 * the cells show the layers' guided maps (the image shrunk to 64x64 as guide), computed by the
 * renderer's worker after the click (guided-client.ts); until they arrive, and without a worker,
 * the cells show the layers' DAAM maps (`data-method` on the grid says which).
 */
import { useEffect, useMemo, useRef, useState } from 'react'
import type { AttentionRecord } from '../../../shared/attention-record'
import { colormapLut } from '../../../shared/colormaps'
import { Heatmaps } from '../../../shared/heatmap/heatmaps'
import { specFilter } from '../../../shared/heatmap/overlay'
import type { ImageBytes } from '../../../shared/heatmap/compose'
import type { HeatmapFilter, TokenMaps } from '../../../shared/heatmap/aggregate'
import type { OverlaySpec } from '../../../shared/ipc/overlay'
import { guidedWorker } from '../overlay/guided-client'
import type { OverlaySettings } from '../state/overlay-spec'

const CELL = 64
/** Delay of the image-guided thumbnails after a click (the overlay paints first). */
const THUMBS_DELAY_MS = 100

interface Cell {
  key: string
  label: string
  layer: number
  head?: number
}

interface Props {
  record: AttentionRecord
  /** The generated image: the guide of the image-guided thumbnails. */
  image?: ImageBytes
  spec: OverlaySpec
  only: OverlaySettings['only']
  onPick: (only: OverlaySettings['only']) => void
}

function cellsOf(record: AttentionRecord): Cell[] {
  return record.layers.flatMap((l) => {
    const short = `${l.block} ${l.block === 'mid' ? '' : `${l.blockIndex} `}${l.height}x${l.width}`
    const heads = l.heads ?? 1
    return [
      { key: `${l.index}`, label: short, layer: l.index },
      ...(heads > 1
        ? Array.from({ length: heads }, (_, h) => ({
            key: `${l.index}.${h}`,
            label: `head ${h}`,
            layer: l.index,
            head: h,
          }))
        : []),
    ]
  })
}

function CellCanvas({ map, lut }: { map: Float32Array; lut: Uint8Array }): React.JSX.Element {
  const ref = useRef<HTMLCanvasElement>(null)
  useEffect(() => {
    const ctx = ref.current?.getContext('2d')
    if (!ctx) return
    const img = ctx.createImageData(CELL, CELL)
    for (let i = 0; i < CELL * CELL; i++) {
      const k = Math.round(map[i]! * 255) * 3
      img.data[i * 4] = lut[k]!
      img.data[i * 4 + 1] = lut[k + 1]!
      img.data[i * 4 + 2] = lut[k + 2]!
      img.data[i * 4 + 3] = 255
    }
    ctx.putImageData(img, 0, 0)
  }, [map, lut])
  return <canvas ref={ref} width={CELL} height={CELL} />
}

export function LayerGrid({ record, image, spec, only, onPick }: Props): React.JSX.Element | null {
  const thumbs = useMemo(() => new Heatmaps(record, CELL, CELL), [record])
  const cells = useMemo(() => cellsOf(record), [record])
  const word = spec.words[0]!
  // keyed by value: the spec (and its filter and words) is a new object on every click
  const base = JSON.stringify(
    specFilter({ filter: { ...spec.filter, layers: undefined, head: undefined, resolutions: undefined } }),
  )
  const filters = useMemo(
    () =>
      cells.map((c): HeatmapFilter => ({
        ...(JSON.parse(base) as HeatmapFilter),
        layers: [c.layer],
        ...(c.head === undefined ? {} : { head: c.head }),
      })),
    [cells, base],
  )
  const wordKey = `${word.label}|${word.tokens.join('.')}`
  // eslint-disable-next-line react-hooks/exhaustive-deps -- the word by value (see above)
  const stableWord = useMemo(() => word, [wordKey])
  const daamMaps = useMemo(
    () =>
      filters.map((filter) => {
        try {
          // under the image-guided method these stand in until the worker's guided maps arrive
          const method = spec.method === 'guided' ? undefined : spec.method
          return thumbs.wordMaps([stableWord], { filter, stream: spec.stream, method }).maps[0]!
        } catch {
          return null // e.g. a step filter on a cancelled record: the cell stays empty
        }
      }),
    [thumbs, filters, stableWord, spec.stream, spec.method],
  )
  // Image-guided cells: asked of the worker after the click, shown once they arrive for these cells.
  const wantGuided = spec.method === 'guided' && image !== undefined
  const guidedKey = wantGuided ? `${spec.stream}|${wordKey}|${base}` : null
  const [guided, setGuided] = useState<{ key: string; thumbs: Heatmaps; maps: (Float32Array | null)[] } | null>(null)
  useEffect(() => {
    if (!guidedKey || !image) return
    let live = true
    // after the click's frame: the worker's job and the cells' redraw then do not compete with it
    const timer = setTimeout(() => {
      const tokenMaps = filters.map((filter): TokenMaps | null => {
        try {
          return thumbs.tokenMaps(filter, spec.stream)
        } catch {
          return null
        }
      })
      guidedWorker.thumbs(image, { width: CELL, height: CELL }, stableWord, 'word', tokenMaps, (maps) => {
        if (live && maps) setGuided({ key: guidedKey, thumbs, maps })
      })
    }, THUMBS_DELAY_MS)
    return () => {
      live = false
      clearTimeout(timer)
    }
  }, [guidedKey, image, thumbs, filters, stableWord, spec.stream])
  const showGuided = guidedKey !== null && guided?.key === guidedKey && guided.thumbs === thumbs
  const maps = showGuided ? guided.maps : daamMaps
  const lut = colormapLut(spec.colormap)
  return (
    <div
      className="layer-grid"
      data-testid="layer-grid"
      data-method={showGuided ? 'guided' : wantGuided ? 'daam' : (spec.method ?? 'daam')}
      aria-label={`Per-layer maps of ${word.label}`}
    >
      <button type="button" className={only === null ? 'on' : ''} onClick={() => onPick(null)}>
        All layers
      </button>
      <div className="layer-cells">
        {cells.map((c, i) => {
          const on = only?.layer === c.layer && only.head === c.head
          return (
            <button
              key={c.key}
              type="button"
              className={`layer-cell${on ? ' on' : ''}`}
              aria-pressed={on}
              title={`${record.layers.find((l) => l.index === c.layer)?.name ?? ''}${c.head === undefined ? '' : ` head ${c.head}`}`}
              onClick={() => onPick(on ? null : { layer: c.layer, head: c.head })}
            >
              {maps[i] ? <CellCanvas map={maps[i]} lut={lut} /> : <span className="muted">n/a</span>}
              <span>{c.label}</span>
            </button>
          )
        })}
      </div>
    </div>
  )
}
