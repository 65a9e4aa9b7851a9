/**
 * What the overlay shows, as plain data and pure functions (no React, no DOM), for use-overlay.ts,
 * use-save-commands.ts, WordChips and OverlayControls: which chips are picked, the control
 * settings, and the OverlaySpec both the canvas and the save channels draw from.
 */
import type { StreamName } from '../../../shared/attention-record'
import type { ColormapName } from '../../../shared/colormaps'
import type { Normalization } from '../../../shared/heatmap/word-maps'
import type { HeatmapMethod } from '../../../shared/heatmap/methods'
import { DEFAULT_OVERLAY } from '../../../shared/heatmap/overlay'
import type { OverlaySpec } from '../../../shared/ipc/overlay'
import type { WordChip } from '../../../shared/ipc/payloads'

export interface ChipSelection {
  stream: StreamName
  /** Chip indices (WordChip.index) in the order they were picked. */
  indices: number[]
}

export const EMPTY_SELECTION: ChipSelection = { stream: 'cond', indices: [] }

export interface OverlaySettings {
  mode: 'heatmap' | 'mask'
  colormap: ColormapName
  opacity: number
  tau: number
  normalization: Normalization
  /** 'daam', 'guided' (always offered) or 'refined' (offered when the record has refined maps). */
  method: HeatmapMethod
  /** One layer (and head) alone, picked in the per-layer grid; null = the resolutions below. */
  only: { layer: number; head?: number } | null
  /** Selected layer resolutions (native heights). */
  resolutions: number[]
  /** Inclusive step range. */
  steps: { from: number; to: number }
  /** A single step being scrubbed or played; null = the range. */
  step: number | null
}

/**
 * Settings for a newly shown generation: the look the user chose is kept, the record-dependent
 * parts (resolutions, step range) start full for the new record.
 */
export function settingsFor(
  record: { steps: number; defaultResolutions: number[]; hasRefined?: boolean } | null,
  previous?: OverlaySettings,
): OverlaySettings {
  const steps = record?.steps ?? 1
  return {
    mode: previous?.mode ?? DEFAULT_OVERLAY.mode,
    colormap: previous?.colormap ?? DEFAULT_OVERLAY.colormap,
    opacity: previous?.opacity ?? DEFAULT_OVERLAY.opacity,
    tau: previous?.tau ?? DEFAULT_OVERLAY.tau,
    normalization: previous?.normalization ?? DEFAULT_OVERLAY.normalization,
    method: previous?.method === 'refined' && !record?.hasRefined ? 'daam' : (previous?.method ?? 'daam'),
    only: null,
    resolutions: record?.defaultResolutions ?? [],
    steps: { from: 0, to: steps - 1 },
    step: null,
  }
}

/**
 * A chip click: a plain click shows that word alone (or nothing, when it was the only one shown);
 * an additive click (Shift/Ctrl/Cmd) adds it to or removes it from the composite. Picking a word
 * of the other stream starts over in that stream.
 */
export function nextSelection(
  selection: ChipSelection,
  stream: StreamName,
  index: number,
  additive: boolean,
): ChipSelection {
  if (!additive || selection.stream !== stream)
    return selection.stream === stream && selection.indices.length === 1 && selection.indices[0] === index
      ? { stream, indices: [] }
      : { stream, indices: [index] }
  return selection.indices.includes(index)
    ? { stream, indices: selection.indices.filter((i) => i !== index) }
    : { stream, indices: [...selection.indices, index] }
}

/** The overlay for the picked, enabled chips with the settings; null when no word is picked. */
export function toSpec(
  chips: readonly WordChip[],
  selection: ChipSelection,
  settings: OverlaySettings,
  totalSteps: number,
): OverlaySpec | null {
  const words = selection.indices
    .map((i) => chips.find((c) => c.index === i))
    .filter((c): c is WordChip => !!c && !c.disabledReason)
    .map((c) => ({ label: c.text, tokens: c.tokenIndices }))
  if (words.length === 0) return null
  const fullRange = settings.steps.from === 0 && settings.steps.to >= totalSteps - 1
  return {
    words,
    stream: selection.stream,
    mode: settings.mode,
    colormap: settings.colormap,
    opacity: settings.opacity,
    tau: settings.tau,
    normalization: settings.normalization,
    // the refined maps cover the prompt only; negative-prompt words stay DAAM (the image-guided
    // method refines any word's map)
    ...(settings.method === 'daam' || (settings.method === 'refined' && selection.stream !== 'cond')
      ? {}
      : { method: settings.method }),
    filter: {
      ...(settings.only
        ? { layers: [settings.only.layer], ...(settings.only.head === undefined ? {} : { head: settings.only.head }) }
        : // sorted: the same set gives the same filter key, so Heatmaps' aggregation cache hits
          { resolutions: [...settings.resolutions].sort((a, b) => b - a) }),
      ...(fullRange ? {} : { steps: { ...settings.steps } }),
      ...(settings.step === null ? {} : { step: settings.step }),
    },
  }
}

/** The next step while playing: one step on, back to the first after the last. */
export function nextPlayStep(step: number | null, totalSteps: number): number {
  return step === null || step >= totalSteps - 1 ? 0 : step + 1
}
