import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { AppError } from '../../shared/ipc/result'
import { writeNewFolder } from './folder'

const dirs: string[] = []
function tmp(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'daam-folder-'))
  dirs.push(d)
  return d
}
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true })
})

async function failure(p: Promise<unknown>): Promise<AppError> {
  const error = await p.then(
    () => null,
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(AppError)
  return error as AppError
}

describe('writeNewFolder', () => {
  it('creates the parent, fills a new folder and takes "-2", "-3" when the name exists', async () => {
    const parent = path.join(tmp(), 'picked', 'here')
    const fill = (text: string) => async (dir: string) => fs.writeFileSync(path.join(dir, 'a.txt'), text)
    const first = await writeNewFolder(parent, 'gen', fill('one'))
    fs.mkdirSync(path.join(parent, 'gen-2')) // an empty folder of the user's is not taken over either
    const second = await writeNewFolder(parent, 'gen', fill('two'))
    expect([first, second]).toEqual([path.join(parent, 'gen'), path.join(parent, 'gen-3')])
    expect(fs.readFileSync(path.join(first, 'a.txt'), 'utf8')).toBe('one')
    expect(fs.readFileSync(path.join(second, 'a.txt'), 'utf8')).toBe('two')
    expect(fs.readdirSync(path.join(parent, 'gen-2'))).toEqual([])
    expect(fs.readdirSync(parent).sort()).toEqual(['gen', 'gen-2', 'gen-3'])
  })

  it('leaves nothing behind when filling fails, and keeps AppErrors as they are', async () => {
    const parent = tmp()
    const error = await failure(
      writeNewFolder(parent, 'gen', async (dir) => {
        fs.writeFileSync(path.join(dir, 'half.txt'), 'x')
        throw new AppError('invalid-request', 'bad overlay')
      }),
    )
    expect(error.code).toBe('invalid-request')
    expect(fs.readdirSync(parent)).toEqual([])
  })

  it('a full disk is save-failed with the folder and the reason, and leaves nothing behind', async (ctx) => {
    const parent = tmp()
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', parent], { stdio: 'ignore' })
    } catch {
      return ctx.skip() // needs root (CI containers run tests as root)
    }
    try {
      const error = await failure(
        writeNewFolder(parent, 'gen', async (dir) =>
          fs.promises.writeFile(path.join(dir, 'big.bin'), Buffer.alloc(1 << 20)),
        ),
      )
      expect(error.code).toBe('save-failed')
      expect(error.message).toBe(`Could not save into ${parent}: the disk is full.`)
      expect(fs.readdirSync(parent)).toEqual([])
    } finally {
      execFileSync('umount', [parent])
    }
  })
})
