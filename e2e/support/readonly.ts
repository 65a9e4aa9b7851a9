/**
 * Makes a folder read-only for real: chmod for normal users; root ignores permission bits, so
 * there a read-only bind mount (EROFS, as on a locked disk) when the system allows mounting.
 * Returns the undo function, or null when neither works.
 */
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'

export function makeReadOnly(dir: string): (() => void) | null {
  if (process.getuid?.() !== 0) {
    fs.chmodSync(dir, 0o500)
    return () => fs.chmodSync(dir, 0o700)
  }
  try {
    execFileSync('mount', ['--bind', dir, dir], { stdio: 'ignore' })
    execFileSync('mount', ['-o', 'remount,ro,bind', dir], { stdio: 'ignore' })
    return () => execFileSync('umount', [dir], { stdio: 'ignore' })
  } catch {
    return null
  }
}
