/**
 * The packaging config electron-builder reads (electron-builder.yml): Electron's fuses are set
 * as the security review asks (issue 12 §1), and the native modules stay outside the asar.
 */
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'

// js-yaml comes with electron-builder, the tool that reads this file.
const yaml = createRequire(__filename)('js-yaml') as { load: (text: string) => unknown }
const config = yaml.load(readFileSync(join(__dirname, '..', 'electron-builder.yml'), 'utf8')) as Record<string, unknown>

describe('electron-builder config', () => {
  it('sets every fuse the security review asks for', () => {
    expect(config.electronFuses).toEqual({
      runAsNode: false,
      enableNodeOptionsEnvironmentVariable: false,
      enableNodeCliInspectArguments: false,
      enableCookieEncryption: true,
      enableEmbeddedAsarIntegrityValidation: true,
      onlyLoadAppFromAsar: true,
      grantFileProtocolExtraPrivileges: false,
    })
  })

  it('packs the app into an asar archive, with the native modules unpacked', () => {
    expect(config.asar).toBe(true)
    expect(config.asarUnpack).toEqual(expect.arrayContaining(['node_modules/onnxruntime-node/**']))
  })
})
