/**
 * The model library's token store in the app: Electron's safeStorage (macOS Keychain, Windows
 * DPAPI, libsecret/kwallet on Linux) encrypts the value, which is written as ciphertext into
 * `<userData>/secrets/<key>.bin`. Where only Chromium's hard-coded fallback key exists (Linux
 * without a keyring, backend 'basic_text'), `encrypted` is false and the library keeps a token for
 * the session only, never on disk. Caller: src/main/index.ts (injects it into the service).
 */
import fs from 'node:fs/promises'
import path from 'node:path'
import type { SafeStorage } from 'electron'
import { writeFileAtomic } from './history/atomic'
import type { SecretStore } from './library/library-service'

export function safeStorageSecrets(safeStorage: SafeStorage, dir: string): SecretStore {
  const encrypted =
    safeStorage.isEncryptionAvailable() &&
    (process.platform !== 'linux' || safeStorage.getSelectedStorageBackend() !== 'basic_text')
  const file = (key: string): string => path.join(dir, `${key.replace(/[^a-z0-9-]/gi, '_')}.bin`)
  return {
    encrypted,
    async get(key) {
      if (!encrypted) return null
      try {
        return safeStorage.decryptString(await fs.readFile(file(key)))
      } catch {
        return null // none stored, or stored under another OS account/keyring: ask again
      }
    },
    async set(key, value) {
      if (value === null) return fs.rm(file(key), { force: true })
      if (!encrypted) throw new Error('No OS keychain is available to encrypt the token.')
      await fs.mkdir(dir, { recursive: true, mode: 0o700 })
      await writeFileAtomic(file(key), safeStorage.encryptString(value))
    },
  }
}
