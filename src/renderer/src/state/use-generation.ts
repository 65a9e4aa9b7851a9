/**
 * The running generation, for App: start, cancel, the last progress event and the live maps'
 * state (the word chips of the prompt being generated and the live record folded from each step's
 * attention, src/shared/live-attention.ts). LiveStage draws from them.
 */
import { useCallback, useEffect, useRef, useState } from 'react'
import type { GenerationParamsInput } from '../../../shared/generation'
import type { GenerationPayload, IpcError, ProgressEvent, WordChip } from '../../../shared/ipc/contract'
import { LiveRecord } from '../../../shared/live-attention'

export type StartOutcome = { payload: GenerationPayload } | { error: IpcError } | { refused: true }

export interface GenerationState {
  running: boolean
  progress: ProgressEvent | null
  /** Chips of the prompt being generated (from the first progress event); empty before it. */
  liveWords: WordChip[]
  /** The live steps so far; read it on each progress change. */
  live: LiveRecord
  /** Runs a generation; errors (including 'cancelled') come back for the caller to show. */
  start: (params: GenerationParamsInput) => Promise<StartOutcome>
  cancel: () => void
}

/** One generation at a time from the UI's side; main refuses a second one as well. */
export function useGeneration(): GenerationState {
  const [running, setRunning] = useState(false)
  const [progress, setProgress] = useState<ProgressEvent | null>(null)
  const [liveWords, setLiveWords] = useState<WordChip[]>([])
  const runningRef = useRef(false)
  const [live] = useState(() => new LiveRecord())

  useEffect(() => {
    if (typeof window.api === 'undefined') return
    return window.api.on('generate:progress', (p) => {
      if (!runningRef.current) return
      if (p.words) setLiveWords(p.words)
      if (p.live) {
        try {
          live.add(p.live)
        } catch {
          live.reset() // a step out of order: the live maps start over rather than lie
        }
      }
      setProgress(p)
    })
  }, [live])

  const start = useCallback(
    async (params: GenerationParamsInput): Promise<StartOutcome> => {
      if (runningRef.current) return { refused: true }
      runningRef.current = true
      live.reset()
      setLiveWords([])
      setRunning(true)
      setProgress(null)
      try {
        const r = await window.api.generate.start({ params })
        return r.ok ? { payload: r.value } : { error: r.error }
      } finally {
        runningRef.current = false
        setRunning(false)
      }
    },
    [live],
  )

  const cancel = useCallback(() => {
    void window.api.generate.cancel()
  }, [])

  return { running, progress, liveWords, live, start, cancel }
}
