/**
 * An in-memory SecretStore (the library's token store interface) for tests: it stands in for the
 * OS keychain behind Electron's safeStorage, which does not exist outside Electron. Callers:
 * src/main/library/library-service.test.ts.
 */
import type { SecretStore } from '../../src/main/library/library-service'

export class MemorySecretStore implements SecretStore {
  readonly encrypted = true
  readonly values = new Map<string, string>()

  async get(key: string): Promise<string | null> {
    return this.values.get(key) ?? null
  }

  async set(key: string, value: string | null): Promise<void> {
    if (value === null) this.values.delete(key)
    else this.values.set(key, value)
  }
}
