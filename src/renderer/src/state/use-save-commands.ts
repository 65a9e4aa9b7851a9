/**
 * The save commands, for App's buttons, shortcuts and menu: Save overlay (what the canvas shows),
 * Save all words and Export maps (the overlay settings applied to every word), Save time-lapse (the
 * first picked word's map step by step next to the image). Main composes the
 * files from the attention record it kept; the renderer sends only the generation's id and the spec.
 */
import { useState } from 'react'
import type { IpcError } from '../../../shared/ipc/contract'
import type { GenerationPayload } from '../../../shared/ipc/payloads'
import { toSpec } from './overlay-spec'
import type { OverlayState } from './use-overlay'

export type SaveKind = 'overlay' | 'all' | 'maps' | 'timelapse'

export interface SaveCommands {
  /** The save running now, if any (the buttons are disabled meanwhile). */
  busy: SaveKind | null
  save: (kind: SaveKind) => Promise<void>
}

export interface SaveFeedback {
  info: (text: string) => void
  error: (error: IpcError) => void
}

export function useSaveCommands(
  current: GenerationPayload | null,
  overlay: OverlayState,
  feedback: SaveFeedback,
): SaveCommands {
  const [busy, setBusy] = useState<SaveKind | null>(null)

  const save = async (kind: SaveKind): Promise<void> => {
    if (!current) return feedback.info('Generate an image first.')
    if (!current.record)
      return feedback.info(current.attentionWarning ?? 'This generation has no attention maps to save.')
    // "All words" and maps need only the settings; the single overlay needs picked words.
    const firstWord = overlay.chips.find((c) => !c.disabledReason)
    const spec =
      overlay.spec ??
      (kind !== 'overlay' && kind !== 'timelapse' && firstWord
        ? toSpec(overlay.chips, { stream: 'cond', indices: [firstWord.index] }, overlay.settings, overlay.totalSteps)
        : null)
    if (!spec)
      return feedback.info(
        kind === 'timelapse'
          ? 'Pick a word first: the time-lapse shows its map step by step.'
          : 'Pick a word first: Save overlay writes what the image shows.',
      )
    setBusy(kind)
    const call =
      kind === 'overlay'
        ? window.api.overlay.save
        : kind === 'all'
          ? window.api.overlay.saveAll
          : kind === 'timelapse'
            ? window.api.timelapse.save
            : window.api.maps.export
    try {
      const r = await call({ id: current.id, spec })
      if (!r.ok) return feedback.error(r.error)
      if (r.value.path) feedback.info(`Saved to ${r.value.path}`)
    } finally {
      setBusy(null)
    }
  }

  return { busy, save }
}
