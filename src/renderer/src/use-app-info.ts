import { useEffect, useState } from 'react'
import type { AppInfo, IpcError } from '../../shared/ipc/contract'

export type AppInfoState =
  { status: 'loading' } | { status: 'ready'; info: AppInfo } | { status: 'error'; error: IpcError }

const hasApi = (): boolean => typeof window.api !== 'undefined'

/** Asks the main process for versions and the bundled model location, once. */
export function useAppInfo(): AppInfoState {
  const [state, setState] = useState<AppInfoState>(() =>
    hasApi()
      ? { status: 'loading' }
      : { status: 'error', error: { code: 'transport', message: 'window.api is missing: the preload did not run' } },
  )
  useEffect(() => {
    if (!hasApi()) return
    let alive = true
    void window.api.app.getInfo().then((result) => {
      if (!alive) return
      setState(result.ok ? { status: 'ready', info: result.value } : { status: 'error', error: result.error })
    })
    return () => {
      alive = false
    }
  }, [])
  return state
}
