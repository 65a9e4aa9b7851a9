/**
 * The history strip's state: the newest page of past generations (paged by `history:list`, so a
 * refresh costs one screenful whatever the history's size), growing by a page on "Show older".
 * Callers: App.tsx.
 */
import { useCallback, useEffect, useRef, useState } from 'react'
import type { HistoryList, IpcError, Result } from '../../../shared/ipc/contract'
import { HISTORY_PAGE_DEFAULT, HISTORY_PAGE_MAX } from '../../../shared/ipc/payloads'

export interface HistoryState {
  list: HistoryList
  error: IpcError | null
  refresh: () => Promise<void>
  remove: (id: string) => Promise<void>
  /** Shows one more page of older entries. */
  more: () => Promise<void>
}

/** The newest `shown` entries, fetched in pages the contract allows. */
async function fetchNewest(shown: number): Promise<Result<HistoryList>> {
  let merged: HistoryList | null = null
  for (let offset = 0; offset < shown; offset += HISTORY_PAGE_MAX) {
    const r = await window.api.history.list({ offset, limit: Math.min(HISTORY_PAGE_MAX, shown - offset) })
    if (!r.ok) return r
    merged = merged ? { ...r.value, offset: 0, items: [...merged.items, ...r.value.items] } : r.value
    if (offset + HISTORY_PAGE_MAX >= r.value.total) break
  }
  return { ok: true, value: merged ?? { items: [], skipped: [], offset: 0, total: 0 } }
}

export function useHistory(): HistoryState {
  const [list, setList] = useState<HistoryList>({ items: [], skipped: [], offset: 0, total: 0 })
  const [error, setError] = useState<IpcError | null>(null)
  const shown = useRef(HISTORY_PAGE_DEFAULT)

  const refresh = useCallback(async () => {
    const r = await fetchNewest(shown.current)
    if (r.ok) {
      setList(r.value)
      setError(null)
    } else setError(r.error)
  }, [])

  useEffect(() => {
    if (typeof window.api === 'undefined') return
    let alive = true
    void fetchNewest(shown.current).then((r) => {
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

  const more = useCallback(async () => {
    shown.current += HISTORY_PAGE_DEFAULT
    await refresh()
  }, [refresh])

  return { list, error, refresh, remove, more }
}
