/**
 * Compare two runs (issue 17), under the knock-outs in App's stage: the shown generation and
 * another history entry (default: the previous one) side by side at a common display size, the
 * picked word's map drawn on both (the word is matched by its text, so prompts, models and sizes
 * may differ), the difference of the two maps (both resampled to a common grid), and the per-word
 * attention share and knock-out agreement of both.
 */
import { useEffect, useMemo, useRef, useState } from 'react'
import { colormapLut } from '../../../shared/colormaps'
import { attentionShare } from '../../../shared/heatmap/change-map'
import { mergedWordSpecs } from '../../../shared/heatmap/prompt-words'
import { resizeBicubic } from '../../../shared/heatmap/resize'
import type { WordSpec } from '../../../shared/heatmap/word-maps'
import type { GenerationPayload, HistoryItem, IpcError } from '../../../shared/ipc/contract'
import { OverlayView } from '../overlay/overlay-view'
import type { OverlayState } from '../state/use-overlay'
import { HeatmapCanvas } from './HeatmapCanvas'

/** Side of the common grid both maps are resampled to for the difference, and of the display. */
const COMMON = 256

const fold = (s: string): string => s.normalize('NFC').toLowerCase().trim()

function wordSpec(payload: GenerationPayload, word: string): WordSpec | null {
  return mergedWordSpecs(payload.words).find((w) => fold(w.label) === fold(word)) ?? null
}

export function ComparePanel({
  current,
  overlay,
  history,
  onError,
}: {
  current: GenerationPayload
  overlay: OverlayState
  history: readonly HistoryItem[]
  onError: (e: IpcError) => void
}): React.JSX.Element | null {
  const others = history.filter((h) => h.id !== current.id)
  const index = history.findIndex((h) => h.id === current.id)
  // "previous": the entry made before the shown one (the list is newest first)
  const previous = (index >= 0 ? history.slice(index + 1).find((h) => h.id !== current.id) : others[0]) ?? others[0]
  const [pickedId, setPickedId] = useState<string>('')
  const [other, setOther] = useState<GenerationPayload | null>(null)
  const otherId = pickedId || previous?.id || ''
  const { selection, chips, settings } = overlay
  const word = selection.stream === 'cond' && selection.indices.length === 1 ? chips[selection.indices[0]!]?.text : null

  const compare = async (): Promise<void> => {
    if (!otherId) return
    const r = await window.api.history.get({ id: otherId })
    if (!r.ok) return onError(r.error)
    setOther(r.value)
  }
  const views = useMemo(() => (other ? [new OverlayView(current), new OverlayView(other)] : null), [current, other])
  const maps = useMemo(() => {
    if (!views || !word) return null
    return views.map((v) => {
      const spec = wordSpec(v.payload, word)
      if (!spec || !v.heatmaps) return null
      return v.heatmaps.wordMaps([spec], { normalization: 'word' }).maps[0]!
    })
  }, [views, word])
  const table = useMemo(() => {
    if (!views) return []
    const labels = [...new Set(views.flatMap((v) => mergedWordSpecs(v.payload.words).map((w) => w.label)))].filter(
      (l) => /[\p{L}\p{N}]/u.test(l),
    )
    return labels.map((label) => ({
      label,
      cells: views.map((v) => {
        const spec = wordSpec(v.payload, label)
        if (!spec || !v.heatmaps) return null
        const ko = v.payload.knockouts?.find((k) => fold(k.word) === fold(label))
        return { share: attentionShare(v.heatmaps.tokenMaps(), spec), agreement: ko?.agreement }
      }),
    }))
  }, [views])

  if (others.length === 0) return null
  return (
    <div className="compare-area" data-testid="compare-panel">
      <div className="section-label">Compare two runs</div>
      <div className="knockout-buttons">
        <select
          aria-label="Compare with"
          value={otherId}
          onChange={(e) => {
            setPickedId(e.target.value)
            setOther(null)
          }}
        >
          {others.map((h) => (
            <option key={h.id} value={h.id}>
              {h.id === previous?.id ? 'Previous: ' : ''}
              {h.prompt.slice(0, 40)} · seed {h.seed}
            </option>
          ))}
        </select>
        <button type="button" data-testid="compare" onClick={() => void compare()}>
          Compare
        </button>
        {other && (
          <span className="muted small">{word ? `word “${word}” on both` : 'pick a word to map it on both'}</span>
        )}
      </div>
      {views && (
        <>
          <div className="knockout-panels" data-testid="compare-images">
            {views.map((v, i) => (
              <figure key={v.payload.id}>
                <HeatmapCanvas
                  image={v.image}
                  map={maps?.[i] ?? null}
                  colormap={settings.colormap}
                  opacity={settings.opacity}
                />
                <figcaption>
                  {i === 0 ? 'Shown' : 'Other'}: {v.payload.width}×{v.payload.height} · seed {v.payload.params.seed}
                  {word && maps && !maps[i] ? ` · no “${word}”` : ''}
                </figcaption>
              </figure>
            ))}
            <figure>
              <DiffCanvas views={views} maps={maps} colormap={settings.colormap} />
              <figcaption>|difference| of the two maps</figcaption>
            </figure>
          </div>
          <table className="knockout-table" data-testid="compare-table">
            <thead>
              <tr>
                <th>Word</th>
                <th>Attention (shown)</th>
                <th>Attention (other)</th>
                <th>Agreement (shown)</th>
                <th>Agreement (other)</th>
              </tr>
            </thead>
            <tbody>
              {table.map((row) => (
                <tr key={row.label}>
                  <td>{row.label}</td>
                  {row.cells.map((c, i) => (
                    <td key={`s${i}`}>{c ? `${(100 * c.share).toFixed(1)} %` : '—'}</td>
                  ))}
                  {row.cells.map((c, i) => (
                    <td key={`a${i}`}>{c?.agreement !== undefined ? c.agreement.toFixed(2) : '—'}</td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </div>
  )
}

function DiffCanvas({
  views,
  maps,
  colormap,
}: {
  views: OverlayView[]
  maps: (Float32Array | null)[] | null
  colormap: OverlayState['settings']['colormap']
}): React.JSX.Element {
  const ref = useRef<HTMLCanvasElement>(null)
  useEffect(() => {
    const ctx = ref.current?.getContext('2d')
    if (!ctx) return
    ctx.clearRect(0, 0, COMMON, COMMON)
    if (!maps || !maps[0] || !maps[1]) return
    // both maps on one grid, whatever their sizes
    const [a, b] = maps.map((m, i) =>
      resizeBicubic(
        m!,
        views[i]!.image.height,
        views[i]!.image.width,
        new Float32Array(COMMON * COMMON),
        COMMON,
        COMMON,
        0,
        1,
      ),
    )
    const lut = colormapLut(colormap)
    const img = ctx.createImageData(COMMON, COMMON)
    for (let i = 0; i < COMMON * COMMON; i++) {
      const k = Math.round(255 * Math.abs(a![i]! - b![i]!)) * 3
      img.data[i * 4] = lut[k]!
      img.data[i * 4 + 1] = lut[k + 1]!
      img.data[i * 4 + 2] = lut[k + 2]!
      img.data[i * 4 + 3] = 255
    }
    ctx.putImageData(img, 0, 0)
  }, [views, maps, colormap])
  return <canvas ref={ref} width={COMMON} height={COMMON} data-testid="compare-diff" />
}
