import { useCallback, useEffect, useState } from 'react'
import type { IpcError, ModelSummary, RecentModel } from '../../../shared/ipc/contract'

export interface ModelState {
  model: ModelSummary | null
  loading: boolean
  error: IpcError | null
  recent: RecentModel[]
  /** Shows the folder picker and loads the chosen folder. */
  open: () => Promise<void>
  load: (dir: string) => Promise<void>
}

/** The current model (the bundled one at start), folder picking, and the recent list. */
export function useModel(): ModelState {
  const [model, setModel] = useState<ModelSummary | null>(null)
  const [loading, setLoading] = useState(true)
  const [error, setError] = useState<IpcError | null>(null)
  const [recent, setRecent] = useState<RecentModel[]>([])

  const refreshRecent = useCallback(async () => {
    const r = await window.api.model.recent()
    if (r.ok) setRecent(r.value)
  }, [])

  const apply = useCallback(
    async (call: () => Promise<{ ok: true; value: ModelSummary | null } | { ok: false; error: IpcError }>) => {
      setLoading(true)
      const r = await call()
      setLoading(false)
      if (!r.ok) {
        setError(r.error)
        return
      }
      setError(null)
      if (r.value) setModel(r.value)
      await refreshRecent()
    },
    [refreshRecent],
  )

  useEffect(() => {
    if (typeof window.api === 'undefined') return
    void apply(() => window.api.model.current())
  }, [apply])

  return {
    model,
    loading,
    error,
    recent,
    open: () => apply(() => window.api.model.open()),
    load: (dir) => apply(() => window.api.model.load({ dir })),
  }
}
