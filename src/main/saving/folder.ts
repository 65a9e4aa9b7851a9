/**
 * Where saved files land and what a failure says. Every folder export ("Save all words", "Export
 * maps") writes into a new subfolder of the folder the user chose, filled under a hidden temporary
 * name and renamed into place: nothing the chosen folder already holds is ever written over, and a
 * failure (full or read-only disk) leaves no half-written folder behind. Callers: app-saves.ts.
 */
import { randomBytes } from 'node:crypto'
import fs from 'node:fs/promises'
import path from 'node:path'
import { AppError } from '../../shared/ipc/result'
import { describeFsError } from '../history/atomic'

/** An AppError as is; anything else as 'save-failed' with the path and the reason. */
export function saveFailed(error: unknown, what: string): AppError {
  if (error instanceof AppError) return error
  return new AppError('save-failed', describeFsError(error, what))
}

async function exists(p: string): Promise<boolean> {
  try {
    await fs.lstat(p)
    return true
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false
    throw error
  }
}

/**
 * Creates `parent/name` (or `name-2`, `name-3`, ... when taken) holding what `fill` writes, and
 * returns its path. `fill` writes into an empty temporary folder inside `parent`.
 */
export async function writeNewFolder(
  parent: string,
  name: string,
  fill: (dir: string) => Promise<void>,
): Promise<string> {
  const tmp = path.join(parent, `.${name}.${randomBytes(4).toString('hex')}.tmp`)
  let made = false
  try {
    await fs.mkdir(parent, { recursive: true })
    await fs.mkdir(tmp)
    made = true
    await fill(tmp)
    for (let i = 1; ; i++) {
      const target = path.join(parent, i === 1 ? name : `${name}-${i}`)
      if (await exists(target)) continue
      try {
        await fs.rename(tmp, target)
        return target
      } catch (error) {
        // someone made the name between the check and the rename: take the next one
        const code = (error as NodeJS.ErrnoException).code
        if (code !== 'EEXIST' && code !== 'ENOTEMPTY') throw error
      }
    }
  } catch (error) {
    if (made) await fs.rm(tmp, { recursive: true, force: true }).catch(() => {})
    throw saveFailed(error, `save into ${parent}`)
  }
}
