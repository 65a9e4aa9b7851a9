/**
 * The model library as the Models panel sees it: `library:state` once when the panel opens and
 * again whenever the main process says the installed list changed, with download progress kept
 * current from `library:changed` events. Caller: components/ModelsPanel.tsx.
 */
import { useCallback, useEffect, useState } from 'react'
import type { DownloadSnapshot, IpcError, LibraryState, Result } from '../../../shared/ipc/contract'

export interface LibraryHandle {
  state: LibraryState | null
  downloads: DownloadSnapshot[]
  error: IpcError | null
  refresh: () => Promise<void>
}

export function useLibrary(active: boolean): LibraryHandle {
  const [state, setState] = useState<LibraryState | null>(null)
  const [downloads, setDownloads] = useState<DownloadSnapshot[]>([])
  const [error, setError] = useState<IpcError | null>(null)

  const apply = useCallback((r: Result<LibraryState>) => {
    if (!r.ok) return setError(r.error)
    setError(null)
    setState(r.value)
    setDownloads(r.value.downloads)
  }, [])

  const refresh = useCallback(async () => apply(await window.api.library.state()), [apply])

  useEffect(() => {
    if (!active || typeof window.api === 'undefined') return
    let alive = true
    const load = (): void => {
      void window.api.library.state().then((r) => alive && apply(r))
    }
    load()
    const off = window.api.on('library:changed', (e) => {
      setDownloads(e.downloads)
      if (e.installedChanged) load()
    })
    return () => {
      alive = false
      off()
    }
  }, [active, apply])

  return { state, downloads, error, refresh }
}
