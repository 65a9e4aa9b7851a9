/**
 * Error codes say what failed (issue 12 §5), checked through the real dispatcher on the bundled
 * model: a request the model cannot honour is 'invalid-params' (not 'internal'); a history entry
 * that is not there is 'not-found', one that is there but broken is 'history-corrupt', and one
 * the disk will not give back is 'history-read'. The save paths' codes are tested with the saving
 * code (test/save-files.test.ts); invalid-request messages in src/shared/ipc/contract.test.ts.
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createDispatcher, type Dispatch } from '../src/main/ipc/dispatch'
import { AppService, bindService } from '../src/main/service'
import type { GenerationPayload } from '../src/shared/ipc/payloads'

const MODELS = path.resolve(__dirname, '..', 'models')
const SENDER = { url: 'file:///app/index.html', isMainFrame: true }

describe('error codes on the bundled model', () => {
  let root: string
  let service: AppService
  let dispatch: Dispatch
  let entry: GenerationPayload

  async function outcome(channel: string, payload: unknown): Promise<string> {
    const r = await dispatch(channel, payload, SENDER)
    return r.ok ? 'ok' : `${r.error.code}: ${r.error.message}`
  }

  /** A fresh history entry to break. */
  async function generate(): Promise<GenerationPayload> {
    const r = await dispatch('generate:start', { params: { prompt: 'a red hat', steps: 1, seed: 1 } }, SENDER)
    if (!r.ok) throw new Error(r.error.message)
    return r.value as GenerationPayload
  }

  const entryDir = (id: string): string => path.join(root, 'user-data', 'history', id)

  beforeAll(async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'daam-codes-'))
    service = new AppService({ modelsDir: MODELS, userDataDir: path.join(root, 'user-data'), threads: 1 })
    dispatch = createDispatcher(bindService(service), { isTrustedSender: () => true })
    entry = await generate()
  }, 60_000)

  afterAll(async () => {
    await service.dispose()
    fs.rmSync(root, { recursive: true, force: true })
  })

  it('more steps than the model was trained with is invalid-params, naming the limit', async () => {
    // The bundled model with a shorter training schedule: valid for the schema (1..200 steps),
    // not for this model's scheduler.
    const dir = path.join(root, 'short-schedule')
    fs.cpSync(path.join(MODELS, 'daam-shapes'), dir, { recursive: true })
    const configFile = path.join(dir, 'scheduler', 'scheduler_config.json')
    const config = JSON.parse(fs.readFileSync(configFile, 'utf8')) as Record<string, unknown>
    fs.writeFileSync(configFile, JSON.stringify({ ...config, num_train_timesteps: 50 }))
    const other = new AppService({ modelsDir: MODELS, threads: 1 })
    try {
      const d = createDispatcher(bindService(other), { isTrustedSender: () => true })
      expect((await d('model:load', { dir }, SENDER)).ok).toBe(true)
      const r = await d('generate:start', { params: { prompt: 'a red hat', steps: 60 } }, SENDER)
      expect(r.ok ? 'ok' : r.error.code).toBe('invalid-params')
      expect(r.ok ? '' : r.error.message).toMatch(/60.*50|50.*60/)
      // within the limit it generates
      expect((await d('generate:start', { params: { prompt: 'a red hat', steps: 2 } }, SENDER)).ok).toBe(true)
    } finally {
      await other.dispose()
    }
  }, 60_000)

  it('an entry that is not there is not-found', async () => {
    expect(await outcome('history:get', { id: 'ABCDEFGH-not-there' })).toMatch(/^not-found: /)
    expect(await outcome('overlay:save', { id: 'ABCDEFGH-not-there', spec: spec() })).toMatch(/^not-found: /)
  })

  it('an entry that is there but lost a file is history-corrupt, naming the file', async () => {
    const broken = await generate()
    fs.rmSync(path.join(entryDir(broken.id), 'image.png'))
    expect(await outcome('history:get', { id: broken.id })).toMatch(/^history-corrupt: .*image\.png/)
    const noRecord = await generate()
    fs.rmSync(path.join(entryDir(noRecord.id), 'record.bin'))
    expect(await outcome('history:get', { id: noRecord.id })).toMatch(/^history-corrupt: .*record\.bin/)
  }, 30_000)

  it('an entry the disk will not give back is history-read, not corrupt', async () => {
    const unreadable = await generate()
    // A symbolic-link loop fails to open with ELOOP: a file-system refusal, as EACCES or EIO
    // would be (those cannot be staged as root, which ignores permissions).
    const image = path.join(entryDir(unreadable.id), 'image.png')
    fs.rmSync(image)
    fs.symlinkSync(path.basename(image), image)
    expect(await outcome('history:get', { id: unreadable.id })).toMatch(/^history-read: /)
  }, 30_000)

  it('the intact entry still reads', async () => {
    expect(await outcome('history:get', { id: entry.id })).toBe('ok')
  })

  function spec() {
    return {
      words: [{ label: 'hat', tokens: [3] }],
      stream: 'cond',
      mode: 'heatmap',
      colormap: 'jet',
      opacity: 0.5,
      tau: 0.4,
      normalization: 'word',
      filter: {},
    }
  }
})
