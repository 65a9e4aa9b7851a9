/**
 * The model library on the command line, with the app's engine (src/main/library):
 *
 *   npm run models -- list
 *   npm run models -- add owner/name[@revision][:subfolder]
 *   npm run models -- remove NAME
 *   options: --dir FOLDER (models folder; default the app's, <userData>/models or its setting)
 *            --endpoint URL (default HF_ENDPOINT, the app's setting, else https://huggingface.co)
 *
 * A gated repository needs HF_TOKEN in the environment (it is used for this run only, sent only
 * to the Hub host, never printed). Progress goes to stderr; exit code 2 for bad arguments,
 * 1 for failures. Callers: people, and scripts/models.test.ts.
 */
import os from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { LibraryService } from '../src/main/library/library-service'
import { CURATED_MODELS, type DownloadSnapshot } from '../src/shared/ipc/library'
import { AppError } from '../src/shared/ipc/result'

const USAGE = `usage: models list | add owner/name[@revision][:subfolder] | remove NAME  [--dir FOLDER] [--endpoint URL]`

/** Electron's userData folder of the app ("DAAM Studio"), computed without Electron. */
function appUserData(): string {
  const name = 'DAAM Studio'
  if (process.platform === 'win32')
    return path.join(process.env.APPDATA ?? path.join(os.homedir(), 'AppData', 'Roaming'), name)
  if (process.platform === 'darwin') return path.join(os.homedir(), 'Library', 'Application Support', name)
  return path.join(process.env.XDG_CONFIG_HOME ?? path.join(os.homedir(), '.config'), name)
}

function mb(bytes: number): string {
  return bytes >= 1e9 ? `${(bytes / 1e9).toFixed(2)} GB` : `${(bytes / 1e6).toFixed(1)} MB`
}

function progressLine(d: DownloadSnapshot): string {
  const pct = d.totalBytes ? Math.floor((d.doneBytes / d.totalBytes) * 100) : 100
  const eta = d.etaSeconds !== null ? `, ${d.etaSeconds} s left` : ''
  return `${d.name}: ${pct}% (${mb(d.doneBytes)} of ${mb(d.totalBytes)}, ${mb(d.speed)}/s${eta})`
}

async function main(argv: string[]): Promise<number> {
  let parsed
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { dir: { type: 'string' }, endpoint: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    })
  } catch (e) {
    console.error(`${(e as Error).message}\n${USAGE}`)
    return 2
  }
  const [command, arg, ...extra] = parsed.positionals
  if (parsed.values.help) {
    console.log(USAGE)
    return 0
  }
  if (!command || extra.length || (command === 'list' ? !!arg : !arg) || !['list', 'add', 'remove'].includes(command)) {
    console.error(USAGE)
    return 2
  }
  const userData = appUserData()
  const dir = parsed.values.dir
  const library = new LibraryService({
    defaultModelsDir: dir ? path.resolve(dir) : path.join(userData, 'models'),
    endpoint: parsed.values.endpoint ?? (process.env.HF_ENDPOINT || undefined),
    // the app's settings (models folder, endpoint) apply unless --dir names the folder for this run
    settingsFile: dir ? null : path.join(userData, 'library.json'),
    activeModel: () => ({ dir: null, provider: null }),
  })
  try {
    if (process.env.HF_TOKEN) await library.setToken(process.env.HF_TOKEN)
    if (command === 'list') {
      const state = await library.state()
      console.log(`Models in ${state.settings.modelsDir}:`)
      if (!state.installed.length) console.log('  (none)')
      for (const m of state.installed) {
        const maps = m.maps ? `heat maps (${m.attentionLayers} layers)` : 'no heat maps'
        const from = m.source ? `  from ${m.source.spec} @ ${m.source.commit.slice(0, 8)}` : ''
        console.log(`  ${m.name}  ${mb(m.bytesOnDisk)}  ${m.width}x${m.height}  ${m.problem ?? maps}${from}`)
      }
      for (const d of state.downloads) console.log(`  [${d.state}] ${progressLine(d)}`)
      console.log(`Known repositories on the Hub (sizes approximate):`)
      for (const c of CURATED_MODELS)
        console.log(`  ${c.spec}  ~${mb(c.approxBytes)}  ${c.maps ? 'heat maps' : 'no heat maps'}`)
      return 0
    }
    if (command === 'remove') {
      await library.remove(arg)
      console.log(`Removed ${arg}.`)
      return 0
    }
    const plan = await library.inspect(arg)
    console.error(
      `${plan.spec} @ ${plan.commit.slice(0, 8)}: ${plan.files.length} files, ${mb(plan.totalBytes)}; ${mb(plan.freeBytes)} free`,
    )
    const started = await library.add(arg)
    const timer = setInterval(() => {
      const d = library.downloads().find((x) => x.id === started.id)
      if (d) console.error(progressLine(d))
    }, 1000)
    const done = await library.settled(started.id).finally(() => clearInterval(timer))
    if (done.state !== 'done') {
      console.error(done.error?.message ?? `Download ${done.state}.`)
      return 1
    }
    console.log(`Installed ${done.name} in ${done.installedDir}`)
    return 0
  } catch (e) {
    console.error(e instanceof AppError || e instanceof Error ? e.message : String(e))
    return e instanceof AppError && e.code === 'invalid-request' ? 2 : 1
  } finally {
    await library.dispose()
  }
}

void main(process.argv.slice(2)).then((code) => process.exit(code))
