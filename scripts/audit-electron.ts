/**
 * Electron security audit in CI (`npm run audit:electron`, part of `npm test`): runs
 * electronegativity over src/ and fails on any finding that security/electronegativity-allowlist.json
 * does not accept with a reason, and on allowlist entries that no longer match anything (so the
 * list never outlives the code it explains). Exit 0 clean, 1 findings, 2 the audit could not run.
 *
 * Offline: electronegativity fetches its translations and Electron's release list at run time;
 * both fetches are answered with an immediate failure here (it then uses its bundled English
 * texts), and the release-list check (AvailableSecurityFixesGlobalCheck) is skipped: Electron's
 * currency is pinned in package.json and reviewed with the dependencies.
 */
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join, resolve } from 'node:path'

const ROOT = resolve(__dirname, '..')
const ALLOWLIST = join(ROOT, 'security', 'electronegativity-allowlist.json')

interface Issue {
  id: string
  file: string
  location: { line: number; column: number }
  description?: string
  manualReview?: boolean
}
interface AllowEntry {
  check: string
  file: string
  reason: string
}

function offlineGot(): void {
  const require = createRequire(__filename)
  const base = dirname(require.resolve('@doyensec/electronegativity/package.json'))
  const gotPath = createRequire(join(base, 'package.json')).resolve('got')
  const fail = () => Promise.reject(new Error('offline: network fetches are disabled for the audit'))
  const got = Object.assign(fail, { head: fail, get: fail, default: fail })
  require.cache[gotPath] = { id: gotPath, filename: gotPath, loaded: true, exports: got } as unknown as NodeJS.Module
}

async function main(): Promise<number> {
  offlineGot()
  const require = createRequire(__filename)
  const electronVersion = (require('electron/package.json') as { version: string }).version
  const run = require('@doyensec/electronegativity') as (
    o: object,
  ) => Promise<{ issues: Issue[]; errors: { file: string; message: string; tolerable: boolean }[] }>
  const log = console.log
  console.log = () => undefined // its translation-fetch notice
  let result
  try {
    result = await run({
      input: join(ROOT, 'src'),
      isRelative: true,
      electronVersionOverride: electronVersion,
      excludeFromScan: ['AvailableSecurityFixesGlobalCheck'],
      parserPlugins: [],
    })
  } finally {
    console.log = log
  }
  const fatal = result.errors.filter((e) => !e.tolerable)
  for (const e of fatal) console.error(`audit:electron: could not parse ${e.file}: ${e.message}`)

  const allow = JSON.parse(readFileSync(ALLOWLIST, 'utf8')) as { accepted: AllowEntry[] }
  const used = new Set<AllowEntry>()
  const rejected: Issue[] = []
  for (const issue of result.issues) {
    const entry = allow.accepted.find((a) => a.check === issue.id && a.file === issue.file.replace(/\\/g, '/'))
    if (entry) used.add(entry)
    else rejected.push(issue)
  }
  for (const i of rejected) {
    console.error(
      `${i.id} ${i.file}:${i.location.line}:${i.location.column}${i.manualReview ? ' (manual review)' : ''}`,
    )
    if (i.description) console.error(`    ${i.description}`)
  }
  const stale = allow.accepted.filter((a) => !used.has(a))
  for (const a of stale) console.error(`stale allowlist entry (matches no finding): ${a.check} ${a.file}`)
  const bare = allow.accepted.filter((a) => !a.reason || a.reason.trim().length < 20)
  for (const a of bare) console.error(`allowlist entry without a real reason: ${a.check} ${a.file}`)

  console.log(
    `audit:electron: electronegativity on src/ (Electron ${electronVersion}): ${result.issues.length} findings, ` +
      `${result.issues.length - rejected.length} accepted by ${ALLOWLIST.slice(ROOT.length + 1)}, ${rejected.length} not accepted`,
  )
  if (fatal.length > 0) return 2
  return rejected.length + stale.length + bare.length > 0 ? 1 : 0
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(`audit:electron: ${e instanceof Error ? e.stack : String(e)}`)
    process.exit(2)
  },
)
