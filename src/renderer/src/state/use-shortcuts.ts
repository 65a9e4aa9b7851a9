import { useEffect, useLayoutEffect, useRef } from 'react'
import type { MenuCommand } from '../../../shared/ipc/payloads'

export type Command = MenuCommand['command'] | 'cancel'

/**
 * Keyboard shortcuts and application-menu commands, both routed to one handler. The renderer owns
 * the shortcuts (the menu shows them but does not register them), so they work the same in
 * Electron and in the browser-based e2e mode.
 */
export function useShortcuts(run: (command: Command) => void): void {
  const latest = useRef(run)
  useLayoutEffect(() => {
    latest.current = run
  })
  useEffect(() => {
    const onKey = (e: KeyboardEvent): void => {
      const mod = e.ctrlKey || e.metaKey
      let command: Command | null = null
      if (mod && e.key === 'Enter') command = 'generate'
      else if (mod && !e.shiftKey && (e.key === 's' || e.key === 'S')) command = 'save-overlay'
      else if (mod && e.shiftKey && (e.key === 's' || e.key === 'S')) command = 'save-all'
      else if (mod && (e.key === 'e' || e.key === 'E')) command = 'export-maps'
      else if (mod && (e.key === 'o' || e.key === 'O')) command = 'open-model'
      else if (mod && (e.key === 'm' || e.key === 'M')) command = 'models'
      else if (e.key === 'Escape') command = 'cancel'
      if (!command) return
      e.preventDefault()
      latest.current(command)
    }
    window.addEventListener('keydown', onKey)
    const off =
      typeof window.api === 'undefined' ? () => {} : window.api.on('app:menu', ({ command }) => latest.current(command))
    return () => {
      window.removeEventListener('keydown', onKey)
      off()
    }
  }, [])
}
