import { useCallback, useEffect, useRef, useState } from 'react'
import type { GenerationParamsInput } from '../../../shared/generation'
import type { GenerationPayload, IpcError, ProgressEvent } from '../../../shared/ipc/contract'

export type StartOutcome = { payload: GenerationPayload } | { error: IpcError } | { refused: true }

export interface GenerationState {
  running: boolean
  progress: ProgressEvent | null
  /** Runs a generation; errors (including 'cancelled') come back for the caller to show. */
  start: (params: GenerationParamsInput) => Promise<StartOutcome>
  cancel: () => void
}

/** One generation at a time from the UI's side; main refuses a second one as well. */
export function useGeneration(): GenerationState {
  const [running, setRunning] = useState(false)
  const [progress, setProgress] = useState<ProgressEvent | null>(null)
  const runningRef = useRef(false)

  useEffect(() => {
    if (typeof window.api === 'undefined') return
    return window.api.on('generate:progress', (p) => {
      if (runningRef.current) setProgress(p)
    })
  }, [])

  const start = useCallback(async (params: GenerationParamsInput): Promise<StartOutcome> => {
    if (runningRef.current) return { refused: true }
    runningRef.current = true
    setRunning(true)
    setProgress(null)
    try {
      const r = await window.api.generate.start({ params })
      return r.ok ? { payload: r.value } : { error: r.error }
    } finally {
      runningRef.current = false
      setRunning(false)
    }
  }, [])

  const cancel = useCallback(() => {
    void window.api.generate.cancel()
  }, [])

  return { running, progress, start, cancel }
}
