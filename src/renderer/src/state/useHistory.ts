import { useCallback, useEffect, useState } from 'react'
import type { HistoryList, IpcError } from '../../../shared/ipc/contract'

export interface HistoryState {
  list: HistoryList
  error: IpcError | null
  refresh: () => Promise<void>
  remove: (id: string) => Promise<void>
}

export function useHistory(): HistoryState {
  const [list, setList] = useState<HistoryList>({ items: [], skipped: [] })
  const [error, setError] = useState<IpcError | null>(null)

  const refresh = useCallback(async () => {
    const r = await window.api.history.list()
    if (r.ok) {
      setList(r.value)
      setError(null)
    } else setError(r.error)
  }, [])

  useEffect(() => {
    if (typeof window.api === 'undefined') return
    let alive = true
    void window.api.history.list().then((r) => {
      if (!alive) return
      if (r.ok) setList(r.value)
      else setError(r.error)
    })
    return () => {
      alive = false
    }
  }, [])

  const remove = useCallback(
    async (id: string) => {
      const r = await window.api.history.delete({ id })
      if (!r.ok) setError(r.error)
      await refresh()
    },
    [refresh],
  )

  return { list, error, refresh, remove }
}
