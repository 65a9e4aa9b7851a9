/**
 * The service's engine on the bundled model, as the Electron app, the e2e fixture and the CLIs
 * drive it through AppService: a generation asked for while a model loads waits for that load.
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { AppService } from '../src/main/service'

const MODELS = path.resolve(__dirname, '..', 'models')
const BUNDLED = path.join(MODELS, 'daam-shapes')

describe('AppService engine', () => {
  let tmp: string
  let copy: string
  let service: AppService

  beforeAll(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'daam-engine-'))
    copy = path.join(tmp, 'models', 'shapes-copy')
    fs.cpSync(BUNDLED, copy, { recursive: true })
    service = new AppService({ modelsDir: MODELS, userDataDir: path.join(tmp, 'user'), threads: 1 })
  })

  afterAll(async () => {
    await service.dispose()
    fs.rmSync(tmp, { recursive: true, force: true })
  })

  it('a generation started while another model loads waits for that load and uses it', async () => {
    await service.currentModel()
    const loading = service.loadModel(copy)
    const generating = service.generate({ prompt: 'a red hat', steps: 2, seed: 1 })
    const [summary, payload] = await Promise.all([loading, generating])
    expect(summary.dir).toBe(copy)
    expect(payload.model.dir).toBe(copy)
    expect(payload.rgb.length).toBe(payload.width * payload.height * 3)
  }, 120_000)
})
