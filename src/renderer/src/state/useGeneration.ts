import { useCallback, useEffect, useRef, useState } from 'react'
import type { GenerationParamsInput } from '../../../shared/generation'
import type { GenerationPayload, IpcError, ProgressEvent } from '../../../shared/ipc/contract'

export interface GenerationState {
  running: boolean
  progress: ProgressEvent | null
  /** The last error of a run (cleared by the next start); 'cancelled' is reported too. */
  error: IpcError | null
  start: (params: GenerationParamsInput) => Promise<GenerationPayload | null>
  cancel: () => void
}

/** One generation at a time from the UI's side; main refuses a second one as well. */
export function useGeneration(): GenerationState {
  const [running, setRunning] = useState(false)
  const [progress, setProgress] = useState<ProgressEvent | null>(null)
  const [error, setError] = useState<IpcError | null>(null)
  const runningRef = useRef(false)

  useEffect(() => {
    if (typeof window.api === 'undefined') return
    return window.api.on('generate:progress', (p) => {
      if (runningRef.current) setProgress(p)
    })
  }, [])

  const start = useCallback(async (params: GenerationParamsInput) => {
    if (runningRef.current) return null
    runningRef.current = true
    setRunning(true)
    setProgress(null)
    setError(null)
    try {
      const r = await window.api.generate.start({ params })
      if (!r.ok) {
        setError(r.error)
        return null
      }
      return r.value
    } finally {
      runningRef.current = false
      setRunning(false)
    }
  }, [])

  const cancel = useCallback(() => {
    void window.api.generate.cancel()
  }, [])

  return { running, progress, error, start, cancel }
}
