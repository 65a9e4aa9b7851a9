/**
 * "Does the word cause it?" under the words (App's stage, issue 17): Knock out the picked word,
 * or all words (progress, cancel); then the original, the knocked-out image and the change map
 * (drawn with the overlay's colour map and opacity), a short legend, and the sortable table of
 * every knock-out of the shown generation with its agreement. Knock-outs come from
 * `knockout:run` and are kept with the history entry (restored with it).
 */
import { useEffect, useMemo, useRef, useState } from 'react'
import { HeatmapCanvas } from './HeatmapCanvas'
import { DISAGREE_BELOW } from '../../../shared/heatmap/change-map'
import type { GenerationPayload, IpcError, KnockoutEntry, KnockoutProgress } from '../../../shared/ipc/contract'
import type { OverlayState } from '../state/use-overlay'

type SortKey = 'word' | 'attentionShare' | 'changeSize' | 'agreement'

const pct = (v: number): string => `${(100 * v).toFixed(1)} %`

export function KnockoutPanel({
  current,
  overlay,
  busy,
  onError,
  request,
  onRunning,
}: {
  current: GenerationPayload
  overlay: OverlayState
  /** A generation runs: knock-outs wait. */
  busy: boolean
  onError: (e: IpcError) => void
  /** A knock-out asked for elsewhere (a word chip's menu); `n` tells two asks for one word apart. */
  request?: { word: string; n: number } | null
  /** Whether a knock-out runs (the chip menu's Knock out waits meanwhile). */
  onRunning?: (running: boolean) => void
}): React.JSX.Element | null {
  const [running, setRunning] = useState(false)
  const [progress, setProgress] = useState<KnockoutProgress | null>(null)
  const [shown, setShown] = useState<string | null>(null)
  const [sort, setSort] = useState<{ key: SortKey; desc: boolean }>({ key: 'agreement', desc: true })
  // Kept here, not in App's generation: replacing that would reset the overlay's word selection.
  // App mounts one panel per generation (key = id); the history brings earlier knock-outs back.
  const [entries, setEntries] = useState<KnockoutEntry[]>(() => current.knockouts ?? [])
  const { selection, chips, settings } = overlay
  const picked = selection.stream === 'cond' && selection.indices.length === 1 ? chips[selection.indices[0]!] : null

  useEffect(() => {
    if (typeof window.api === 'undefined') return
    return window.api.on('knockout:progress', (p) => {
      if (p.id === current.id) setProgress(p)
    })
  }, [current.id])
  // the picked word's knock-out, when there is one, else the one run last
  const entry =
    entries.find((e) => picked && e.word.toLowerCase() === picked.text.toLowerCase()) ??
    entries.find((e) => e.word === shown) ??
    null
  const image = useMemo(
    () => ({ data: current.rgb, width: current.width, height: current.height, channels: 3 as const }),
    [current],
  )
  const change = useMemo(
    () => entry && new Uint8ClampedArray(entry.change.buffer, entry.change.byteOffset, entry.change.length),
    [entry],
  )

  const run = async (words: string[]): Promise<void> => {
    setRunning(true)
    onRunning?.(true)
    setProgress(null)
    const r = await window.api.knockout.run({ id: current.id, words })
    setRunning(false)
    onRunning?.(false)
    setProgress(null)
    if (!r.ok) return onError(r.error)
    setShown(words[words.length - 1] ?? null)
    setEntries(r.value)
  }
  const handled = useRef(request?.n)
  useEffect(() => {
    if (!request || request.n === handled.current || running || busy) return
    handled.current = request.n
    void run([request.word])
    // eslint-disable-next-line react-hooks/exhaustive-deps -- once per request, when nothing runs
  }, [request, running, busy])
  const allWords = useMemo(() => {
    const seen = new Set<string>()
    return chips
      .filter((c) => !c.disabledReason && /[\p{L}\p{N}]/u.test(c.text))
      .map((c) => c.text)
      .filter((w) => !seen.has(w.toLowerCase()) && seen.add(w.toLowerCase()))
  }, [chips])

  const rows = useMemo(() => {
    const sorted = [...entries].sort((a, b) =>
      sort.key === 'word' ? a.word.localeCompare(b.word) : a[sort.key] - b[sort.key],
    )
    return sort.desc ? sorted.reverse() : sorted
  }, [entries, sort])
  const header = (key: SortKey, label: string): React.JSX.Element => (
    <th aria-sort={sort.key === key ? (sort.desc ? 'descending' : 'ascending') : 'none'}>
      <button
        type="button"
        className="link"
        onClick={() => setSort((s) => ({ key, desc: s.key === key ? !s.desc : key !== 'word' }))}
      >
        {label}
        {sort.key === key ? (sort.desc ? ' ▼' : ' ▲') : ''}
      </button>
    </th>
  )

  if (!current.record) return null
  return (
    <div className="knockout-area" data-testid="knockout-panel">
      <div className="section-label">Does the word cause it?</div>
      <div className="knockout-buttons">
        <button
          type="button"
          data-testid="knockout-word"
          disabled={!picked || running || busy}
          title={picked ? undefined : 'Pick one prompt word first'}
          onClick={() => picked && void run([picked.text])}
        >
          Knock out {picked ? `“${picked.text}”` : 'word'}
        </button>
        <button
          type="button"
          data-testid="knockout-all"
          disabled={running || busy || allWords.length === 0}
          onClick={() => void run(allWords)}
        >
          Knock out all words
        </button>
        {running && (
          <>
            <span className="muted small" data-testid="knockout-progress">
              {progress
                ? `${progress.done}/${progress.total} · ${progress.word} · about ${Math.ceil(progress.etaMs / 1000)} s left`
                : 'Re-running without the word…'}
            </span>
            <button type="button" onClick={() => void window.api.generate.cancel()}>
              Cancel
            </button>
          </>
        )}
      </div>
      {entry && (
        <>
          <div className="knockout-panels" data-testid="knockout-panels">
            <figure>
              <HeatmapCanvas image={image} />
              <figcaption>Original</figcaption>
            </figure>
            <figure>
              <PngImage png={entry.png} alt={`Without “${entry.word}”`} />
              <figcaption>Without “{entry.word}”</figcaption>
            </figure>
            <figure>
              <HeatmapCanvas
                image={image}
                map={change}
                colormap={settings.colormap}
                opacity={settings.opacity}
                testId="knockout-change"
              />
              <figcaption>
                Change map · agreement <strong data-testid="knockout-agreement">{entry.agreement.toFixed(2)}</strong>
              </figcaption>
            </figure>
          </div>
          <p className="muted small knockout-legend">
            The change map shows where the image changes when “{entry.word}” is knocked out (its attention set to 0 from
            step {entry.fromStep} on). Agreement is the overlap (IoU) of the word’s heat-map mask and the change map’s
            mask at τ = {entry.tau}: near 1, the word’s attention lands where it has an effect; below {DISAGREE_BELOW},
            attention and effect disagree.
          </p>
        </>
      )}
      {entries.length > 0 && (
        <table className="knockout-table" data-testid="knockout-table">
          <thead>
            <tr>
              {header('word', 'Word')}
              {header('attentionShare', 'Attention')}
              {header('changeSize', 'Change')}
              {header('agreement', 'Agreement')}
            </tr>
          </thead>
          <tbody>
            {rows.map((e) => (
              <tr key={e.word} className={e.disagree ? 'disagree' : undefined} onClick={() => setShown(e.word)}>
                <td>{e.word}</td>
                <td>{pct(e.attentionShare)}</td>
                <td>{pct(e.changeSize)}</td>
                <td>
                  {e.agreement.toFixed(2)}
                  {e.disagree && <span className="flag"> disagree</span>}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  )
}

function PngImage({ png, alt }: { png: Uint8Array; alt: string }): React.JSX.Element {
  const url = useMemo(() => URL.createObjectURL(new Blob([new Uint8Array(png)], { type: 'image/png' })), [png])
  useEffect(() => () => URL.revokeObjectURL(url), [url])
  return <img src={url} alt={alt} />
}
