/**
 * Crash-safe file writes: data goes to a temporary sibling first and is renamed into place, so a
 * reader (or the next start after a crash or a full disk) sees the old file or the new one, never
 * half of one. rename() is atomic within one file system, which a sibling path guarantees.
 */
import { randomBytes } from 'node:crypto'
import fs from 'node:fs/promises'
import path from 'node:path'

function tempSibling(target: string): string {
  return path.join(path.dirname(target), `.${path.basename(target)}.${randomBytes(4).toString('hex')}.tmp`)
}

export async function writeFileAtomic(target: string, data: Uint8Array | string): Promise<void> {
  const tmp = tempSibling(target)
  try {
    await fs.writeFile(tmp, data)
    await fs.rename(tmp, target)
  } catch (error) {
    await fs.rm(tmp, { force: true }).catch(() => {})
    throw error
  }
}

/**
 * Writes a whole folder atomically: `fill(tmpDir)` writes the files into a temporary sibling
 * folder, which is then renamed to `target` (which must not exist yet).
 */
export async function writeDirAtomic(target: string, fill: (dir: string) => Promise<void>): Promise<void> {
  const tmp = tempSibling(target)
  try {
    await fs.mkdir(tmp, { recursive: false })
    await fill(tmp)
    await fs.rename(tmp, target)
  } catch (error) {
    await fs.rm(tmp, { recursive: true, force: true }).catch(() => {})
    throw error
  }
}

/** A friendly sentence for the file-system errors users meet (full disk, read-only, permissions). */
export function describeFsError(error: unknown, what: string): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code
  const reason =
    code === 'ENOSPC'
      ? 'the disk is full'
      : code === 'EROFS'
        ? 'the disk is read-only'
        : code === 'EACCES' || code === 'EPERM'
          ? 'permission denied'
          : code === 'EDQUOT'
            ? 'the disk quota is exceeded'
            : error instanceof Error
              ? error.message
              : String(error)
  return `Could not ${what}: ${reason}.`
}
