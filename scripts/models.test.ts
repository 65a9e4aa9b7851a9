/**
 * The models CLI (scripts/models.ts) end to end against the loopback Hub: add, list, remove,
 * and a clear message with exit code 1 for a missing repository.
 */
import { execFile } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { startHubServer, type HubServer } from '../test/helpers/hub-server'

const ROOT = path.resolve(__dirname, '..')
let hub: HubServer
let dir: string

function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [
        path.join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs'),
        path.join(ROOT, 'scripts', 'models.ts'),
        ...args,
        '--dir',
        dir,
      ],
      { env: { ...process.env, HF_ENDPOINT: hub.url, HF_TOKEN: '' }, cwd: ROOT },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    )
  })
}

beforeAll(async () => {
  hub = await startHubServer({ 'daam/shapes-onnx': { dir: path.join(ROOT, 'models', 'daam-shapes') } })
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'daam-models-cli-'))
})

afterAll(async () => {
  await hub.close()
  fs.rmSync(dir, { recursive: true, force: true })
})

it('adds, lists and removes a model from the Hub', async () => {
  const add = await cli('add', 'daam/shapes-onnx')
  expect(add.stderr).toMatch(/daam\/shapes-onnx @ [0-9a-f]{8}: 12 files, 9\.\d MB/)
  expect(add.stdout).toContain(`Installed shapes-onnx in ${path.join(dir, 'shapes-onnx')}`)
  expect(add.code).toBe(0)
  expect(fs.existsSync(path.join(dir, 'shapes-onnx', 'unet', 'model.onnx'))).toBe(true)

  const list = await cli('list')
  expect(list.code).toBe(0)
  expect(list.stdout).toMatch(
    /shapes-onnx {2}9\.\d MB {2}128x128 {2}heat maps \(\d+ layers\) {2}from daam\/shapes-onnx @/,
  )

  const missing = await cli('add', 'daam/nothing-here')
  expect(missing.code).toBe(1)
  expect(missing.stderr).toContain('daam/nothing-here was not found on')

  const remove = await cli('remove', 'shapes-onnx')
  expect(remove.code).toBe(0)
  expect(fs.existsSync(path.join(dir, 'shapes-onnx'))).toBe(false)
  expect((await cli('frobnicate')).code).toBe(2)
}, 120_000)
