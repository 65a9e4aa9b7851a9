/** Small persistent settings in `<userData>/settings.json` (recent model folders). */
import fs from 'node:fs'
import path from 'node:path'
import type { RecentModel } from '../../shared/ipc/payloads'
import { writeFileAtomic } from '../history/atomic'

const MAX_RECENT = 8

interface SettingsFile {
  recentModels: RecentModel[]
}

export class Settings {
  private data: SettingsFile = { recentModels: [] }

  constructor(private readonly file: string | null) {
    if (!file) return
    try {
      const parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<SettingsFile>
      if (Array.isArray(parsed.recentModels)) {
        this.data.recentModels = parsed.recentModels.filter(
          (m): m is RecentModel =>
            typeof m?.dir === 'string' && typeof m.name === 'string' && typeof m.openedAt === 'string',
        )
      }
    } catch {
      // missing or unreadable settings: start from defaults (they are only conveniences)
    }
  }

  static inUserData(userDataDir: string | null): Settings {
    return new Settings(userDataDir ? path.join(userDataDir, 'settings.json') : null)
  }

  get recentModels(): RecentModel[] {
    return this.data.recentModels.map((m) => ({ ...m }))
  }

  async addRecentModel(dir: string, name: string): Promise<void> {
    const rest = this.data.recentModels.filter((m) => m.dir !== dir)
    this.data.recentModels = [{ dir, name, openedAt: new Date().toISOString() }, ...rest].slice(0, MAX_RECENT)
    await this.save()
  }

  private async save(): Promise<void> {
    if (!this.file) return
    try {
      await fs.promises.mkdir(path.dirname(this.file), { recursive: true })
      await writeFileAtomic(this.file, `${JSON.stringify(this.data, null, 2)}\n`)
    } catch {
      // a read-only profile loses the recent list, nothing else: not worth failing a model load
    }
  }
}
