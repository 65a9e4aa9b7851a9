/**
 * Issue 16 §3: small multiples of the picked word's map, one cell per recorded layer (and per
 * head when the record was made per head), each cell clickable to show that layer (head) alone on
 * the canvas; "All layers" goes back to the resolution toggles. Rendered by App under the overlay
 * controls when exactly one word is picked. The cells are 64x64 maps from their own Heatmaps over
 * the same record (aggregating one layer is cheap, and 64x64 upsampling keeps a full grid of 21
 * cells at a few milliseconds), drawn with the overlay's colour map.
 */
import { useEffect, useMemo, useRef } from 'react'
import type { AttentionRecord } from '../../../shared/attention-record'
import { colormapLut } from '../../../shared/colormaps'
import { Heatmaps } from '../../../shared/heatmap/heatmaps'
import { specFilter } from '../../../shared/heatmap/overlay'
import type { OverlaySpec } from '../../../shared/ipc/overlay'
import type { OverlaySettings } from '../state/overlay-spec'

const CELL = 64

interface Cell {
  key: string
  label: string
  layer: number
  head?: number
}

interface Props {
  record: AttentionRecord
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

export function LayerGrid({ record, spec, only, onPick }: Props): React.JSX.Element | null {
  const thumbs = useMemo(() => new Heatmaps(record, CELL, CELL), [record])
  const cells = useMemo(() => cellsOf(record), [record])
  const word = spec.words[0]!
  const maps = useMemo(() => {
    const base = specFilter({ filter: { ...spec.filter, layers: undefined, head: undefined, resolutions: undefined } })
    return cells.map((c) => {
      try {
        const filter = { ...base, layers: [c.layer], ...(c.head === undefined ? {} : { head: c.head }) }
        // the image-guided method's thumbnails are the layers' DAAM maps: snapping each to the
        // image would need the image at thumbnail size and a refinement per cell and click
        const method = spec.method === 'guided' ? undefined : spec.method
        return thumbs.wordMaps([word], { filter, stream: spec.stream, method }).maps[0]!
      } catch {
        return null // e.g. a step filter on a cancelled record: the cell stays empty
      }
    })
  }, [thumbs, cells, word, spec.filter, spec.stream, spec.method])
  const lut = colormapLut(spec.colormap)
  return (
    <div className="layer-grid" data-testid="layer-grid" aria-label={`Per-layer maps of ${word.label}`}>
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
