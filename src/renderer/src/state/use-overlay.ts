/**
 * The overlay side of the window, for App: the shown generation's OverlayView, the picked chips,
 * the overlay controls' settings, the play timer and the OverlaySpec derived from them (which the
 * canvas draws and use-save-commands.ts sends to main). A new generation (or history entry)
 * starts with no word picked and full ranges, keeping the look the user chose. Under the
 * image-guided method it also has the view precompute every word's map off the click path.
 */
import { useCallback, useEffect, useMemo, useState } from 'react'
import type { StreamName } from '../../../shared/attention-record'
import { specFilter, wordColors } from '../../../shared/heatmap/overlay'
import { mergedWordSpecs } from '../../../shared/heatmap/prompt-words'
import { settlingCurve, type SettlingCurve } from '../../../shared/heatmap/settling'
import type { OverlaySpec } from '../../../shared/ipc/overlay'
import type { GenerationPayload, WordChip } from '../../../shared/ipc/payloads'
import { CLICK_MARK } from '../components/ImageStage'
import { OverlayView } from '../overlay/overlay-view'
import {
  EMPTY_SELECTION,
  nextPlayStep,
  nextSelection,
  settingsFor,
  toSpec,
  type ChipSelection,
  type OverlaySettings,
} from './overlay-spec'

const PLAY_INTERVAL_MS = 300
/** Delay before aggregating a new record: the image paints first. */
const WARM_DELAY_MS = 50

export interface OverlayState {
  view: OverlayView | null
  /** Why the shown generation cannot be drawn (an incomplete or corrupt payload); its pane shows it. */
  viewError: Error | null
  /** Word chips of the prompt and of the negative prompt. */
  chips: WordChip[]
  negativeChips: WordChip[]
  /** Chips of the stream the picked words belong to (the hover read-out ranks these). */
  shownChips: WordChip[]
  selection: ChipSelection
  settings: OverlaySettings
  playing: boolean
  /** What the canvas shows; null = the plain image (no word picked, or no attention record). */
  spec: OverlaySpec | null
  /** The step filter cuts through time buckets of a large model's record: the map is approximate. */
  approximate: boolean
  /** CSS colour of each picked word, in pick order. */
  colors: string[]
  /** Settling curves of the picked words (by chip index), computed after the overlay paints. */
  settling: ReadonlyMap<number, SettlingCurve>
  totalSteps: number
  pick: (stream: StreamName, index: number, additive: boolean) => void
  changeSettings: (patch: Partial<OverlaySettings>) => void
  /** Starts or stops Play; `onHint` hears why playing shows nothing yet. */
  togglePlay: (onHint: (text: string) => void) => void
}

function viewOf(current: GenerationPayload | null): { view: OverlayView | null; error: Error | null } {
  if (!current) return { view: null, error: null }
  try {
    return { view: new OverlayView(current), error: null }
  } catch (error) {
    return { view: null, error: error instanceof Error ? error : new Error(String(error)) }
  }
}

/** The cond chips whose text is in `labels`, first occurrence each, as a selection. */
function selectionOf(view: OverlayView | null, labels: readonly string[]): ChipSelection {
  const chips = view?.payload.words ?? []
  const picked = labels.flatMap((l) => chips.filter((c) => c.text === l && !c.disabledReason).slice(0, 1))
  return picked.length > 0 ? { stream: 'cond', indices: picked.map((c) => c.index) } : EMPTY_SELECTION
}

/** Every enabled chip of a stream, as a selection (the words the guided precompute covers). */
function allOf(chips: readonly WordChip[], stream: StreamName): ChipSelection {
  return { stream, indices: chips.filter((c) => !c.disabledReason).map((c) => c.index) }
}

/**
 * `carryLabels`: words (by text) picked when the shown generation changes, e.g. the words watched
 * in the live maps while it ran; none by default.
 */
export function useOverlay(current: GenerationPayload | null, carryLabels: readonly string[] = []): OverlayState {
  const { view, error: viewError } = useMemo(() => viewOf(current), [current])
  const [selection, setSelection] = useState<ChipSelection>(EMPTY_SELECTION)
  const [settings, setSettings] = useState<OverlaySettings>(() => settingsFor(null))
  const [playing, setPlaying] = useState(false)
  const totalSteps = view?.record?.steps ?? 1

  // A new generation (or history entry) starts with the carried words (or none) and full ranges.
  const [shownView, setShownView] = useState<OverlayView | null>(null)
  if (shownView !== view) {
    setShownView(view)
    setSelection(view?.heatmaps ? selectionOf(view, carryLabels) : EMPTY_SELECTION)
    setSettings((s) =>
      settingsFor(
        view?.record
          ? {
              steps: view.record.steps,
              defaultResolutions: view.defaultResolutions(),
              hasRefined: !!view.record.refined,
            }
          : null,
        s,
      ),
    )
    setPlaying(false)
  }

  const chips = useMemo(() => (view ? view.payload.words : []), [view])
  const negativeChips = useMemo(() => (view ? view.payload.negativeWords : []), [view])
  const shownChips = selection.stream === 'cond' ? chips : negativeChips
  const spec = useMemo(
    () => (view?.heatmaps ? toSpec(shownChips, selection, settings, totalSteps) : null),
    [view, shownChips, selection, settings, totalSteps],
  )
  const approximate = useMemo(() => {
    if (!spec || !view?.heatmaps) return false
    try {
      return view.heatmaps.tokenMaps(specFilter(spec), spec.stream, spec.method).approximate
    } catch {
      return false // an impossible filter is reported by the canvas
    }
  }, [spec, view])
  const colors = useMemo(
    () => wordColors(selection.indices.length).map(([r, g, b]) => `rgb(${r}, ${g}, ${b})`),
    [selection.indices.length],
  )

  // Settling curves of the picked words: after the overlay paints (a click never waits for them).
  const [computed, setComputed] = useState<{ spec: OverlaySpec; curves: ReadonlyMap<number, SettlingCurve> } | null>(
    null,
  )
  const settling = useMemo(
    () => (computed && computed.spec === spec ? computed.curves : new Map<number, SettlingCurve>()),
    [computed, spec],
  )
  useEffect(() => {
    const record = view?.record
    if (!record || !spec) return
    const timer = setTimeout(() => {
      const curves = new Map<number, SettlingCurve>()
      for (const index of selection.indices) {
        const chip = shownChips.find((c) => c.index === index)
        if (!chip || chip.disabledReason) continue
        try {
          curves.set(
            index,
            settlingCurve(
              record,
              { label: chip.text, tokens: chip.tokenIndices },
              {
                filter: { resolutions: spec.filter.resolutions },
                stream: spec.stream,
                tau: spec.tau,
                width: view.image.width,
                height: view.image.height,
              },
            ),
          )
        } catch {
          // an impossible filter is reported by the canvas
        }
      }
      setComputed({ spec, curves })
    }, WARM_DELAY_MS)
    return () => clearTimeout(timer)
  }, [view, spec, selection, shownChips])

  // Aggregate the new record while the user looks at the image, not on the first click.
  useEffect(() => {
    if (!view?.heatmaps) return
    const timer = setTimeout(() => view.warm(), WARM_DELAY_MS)
    return () => clearTimeout(timer)
  }, [view])

  // Image-guided: every word of the shown stream, precomputed in a worker once per generation and
  // again when a setting the maps depend on changes, so that a click only composes (issue 16).
  useEffect(() => {
    if (!view?.heatmaps || settings.method !== 'guided') return
    const all = toSpec(shownChips, allOf(shownChips, selection.stream), settings, totalSteps)
    if (all?.method !== 'guided') return
    const picked = spec?.method === 'guided' ? spec.words : []
    const timer = setTimeout(
      () =>
        view.precomputeGuided({ filter: specFilter(all), stream: all.stream, normalization: all.normalization }, [
          picked,
          all.words,
          mergedWordSpecs(shownChips),
        ]),
      WARM_DELAY_MS,
    )
    return () => clearTimeout(timer)
  }, [view, settings, shownChips, selection.stream, spec, totalSteps])

  // Play: step through the denoising steps one at a time.
  useEffect(() => {
    if (!playing) return
    const timer = setInterval(
      () => setSettings((s) => ({ ...s, step: nextPlayStep(s.step, totalSteps) })),
      PLAY_INTERVAL_MS,
    )
    return () => clearInterval(timer)
  }, [playing, totalSteps])

  const pick = useCallback((stream: StreamName, index: number, additive: boolean) => {
    performance.mark(CLICK_MARK)
    setPlaying(false)
    setSelection((sel) => nextSelection(sel, stream, index, additive))
  }, [])

  const changeSettings = useCallback((patch: Partial<OverlaySettings>) => setSettings((s) => ({ ...s, ...patch })), [])

  const togglePlay = (onHint: (text: string) => void): void => {
    if (!playing && selection.indices.length === 0) onHint('Pick a word to play its map through the steps.')
    setPlaying(!playing)
  }

  return {
    view,
    viewError,
    chips,
    negativeChips,
    shownChips,
    selection,
    settings,
    playing,
    spec,
    approximate,
    colors,
    settling,
    totalSteps,
    pick,
    changeSettings,
    togglePlay,
  }
}
