import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { AppService, SERVICE_OPTIONS_ENV, serviceOptionsFromEnv } from '../src/main/service'

describe('AppService', () => {
  it('reports real runtime versions', async () => {
    const info = new AppService({ appVersion: '1.2.3' }).getAppInfo()
    const sharp = (await import('sharp')).default
    expect(info.version).toBe('1.2.3')
    expect(info.versions.node).toBe(process.versions.node)
    expect(info.versions.onnxruntime).toMatch(/^\d+\.\d+\.\d+/)
    expect(info.versions.sharp).toBe(sharp.versions.sharp)
  })

  it('finds the bundled model folder under modelsDir', () => {
    const modelsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'daam-models-'))
    const service = new AppService({ modelsDir })
    expect(service.getAppInfo().bundledModel).toEqual({ path: path.join(modelsDir, 'daam-shapes'), exists: false })
    fs.mkdirSync(path.join(modelsDir, 'daam-shapes'))
    expect(service.getAppInfo().bundledModel.exists).toBe(true)
    fs.rmSync(modelsDir, { recursive: true })
  })

  it('defaults modelsDir to <cwd>/models', () => {
    expect(new AppService().options.modelsDir).toBe(path.join(process.cwd(), 'models'))
  })

  it('reads option overrides from the environment', () => {
    expect(serviceOptionsFromEnv({})).toEqual({})
    expect(serviceOptionsFromEnv({ [SERVICE_OPTIONS_ENV]: '{"modelsDir":"/m","userDataDir":"/u"}' })).toEqual({
      modelsDir: '/m',
      userDataDir: '/u',
    })
    expect(() => serviceOptionsFromEnv({ [SERVICE_OPTIONS_ENV]: '[1]' })).toThrow(/JSON object/)
  })
})
