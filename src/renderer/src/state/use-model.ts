import { useCallback, useEffect, useState } from 'react'
import type { IpcError, ModelSummary, RecentModel } from '../../../shared/ipc/contract'

export interface ModelState {
  model: ModelSummary | null
  loading: boolean
  error: IpcError | null
  recent: RecentModel[]
  /** Shows the folder picker and loads the chosen folder; resolves to the error, if any. */
  open: () => Promise<IpcError | null>
  load: (dir: string) => Promise<IpcError | null>
}

/** The current model (the bundled one at start), folder picking, and the recent list. */
export function useModel(): ModelState {
  const [model, setModel] = useState<ModelSummary | null>(null)
  // Loading until main says which model it has (the bundled one loads at start); no api, nothing to wait for.
  const [loading, setLoading] = useState(() => typeof window.api !== 'undefined')
  const [error, setError] = useState<IpcError | null>(null)
  const [recent, setRecent] = useState<RecentModel[]>([])

  const refreshRecent = useCallback(async () => {
    const r = await window.api.model.recent()
    if (r.ok) setRecent(r.value)
  }, [])

  const apply = useCallback(
    async (call: () => Promise<{ ok: true; value: ModelSummary | null } | { ok: false; error: IpcError }>) => {
      setLoading(true)
      let r: Awaited<ReturnType<typeof call>>
      try {
        r = await call()
      } finally {
        setLoading(false)
      }
      if (!r.ok) return r.error
      setError(null)
      if (r.value) setModel(r.value)
      await refreshRecent()
      return null
    },
    [refreshRecent],
  )

  useEffect(() => {
    if (typeof window.api === 'undefined') return
    let alive = true
    void Promise.all([window.api.model.current(), window.api.model.recent()]).then(([current, recentModels]) => {
      if (!alive) return
      setLoading(false)
      if (current.ok) setModel(current.value)
      else setError(current.error)
      if (recentModels.ok) setRecent(recentModels.value)
    })
    return () => {
      alive = false
    }
  }, [])

  return {
    model,
    loading,
    error,
    recent,
    open: () => apply(() => window.api.model.open()),
    load: (dir) => apply(() => window.api.model.load({ dir })),
  }
}
