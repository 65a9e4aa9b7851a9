/**
 * Telemetry provably off: a generation on the bundled model through the CLI, in a child process
 * with a fresh HOME and no telemetry setting inherited, under `strace -f -e trace=network`,
 * creates no file in HOME and opens no network socket. A control run (ONNX Runtime loaded
 * without this module, plus one deliberate TCP connect) shows the two detectors see what they
 * look for, so the test fails if telemetry comes back.
 */
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ORT_TELEMETRY_ENV } from './telemetry'

const ROOT = resolve(__dirname, '../../..')
const STRACE = ['/usr/bin/strace', '/bin/strace'].find((p) => existsSync(p))

function filesUnder(root: string, dir = root): string[] {
  const out: string[] = []
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name)
    if (e.isDirectory()) out.push(...filesUnder(root, p))
    else out.push(relative(root, p))
  }
  return out
}

/** Network activity in an strace log: sockets other than local (AF_UNIX) ones, and connects. */
function networkCalls(log: string): string[] {
  return log
    .split('\n')
    .filter((l) => /\bsocket\((?!AF_UNIX|AF_LOCAL)/.test(l) || /\bconnect\(.*sa_family=AF_INET/.test(l))
}

interface Traced {
  status: number | null
  stderr: string
  homeFiles: string[]
  network: string[]
}

/** Runs node with `args` under strace in a fresh HOME, with no telemetry setting inherited. */
function traced(args: string[]): Traced {
  const work = mkdtempSync(join(tmpdir(), 'telemetry-'))
  const home = join(work, 'home')
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: home, TMPDIR: join(work, 'tmp') }
  delete env[ORT_TELEMETRY_ENV]
  delete env.XDG_CACHE_HOME
  // ONNX Runtime turns its collector off by itself on CI machines (it reads CI, TF_BUILD and
  // GITHUB_ACTIONS): without these, both runs behave as on a user's machine, in CI too.
  for (const ci of ['CI', 'TF_BUILD', 'GITHUB_ACTIONS']) delete env[ci]
  for (const d of [home, env.TMPDIR!]) mkdirSync(d)
  const log = join(work, 'strace.log')
  const r = spawnSync(STRACE!, ['-f', '-e', 'trace=network', '-o', log, process.execPath, ...args], {
    cwd: ROOT,
    env,
    encoding: 'utf8',
    timeout: 240_000,
  })
  return {
    status: r.status,
    stderr: r.stderr,
    homeFiles: filesUnder(home),
    network: networkCalls(readFileSync(log, 'utf8')),
  }
}

const CONTROL = `
const ort = require('onnxruntime-node')
ort.InferenceSession.create(${JSON.stringify(join(ROOT, 'models/daam-shapes/vae_decoder/model.onnx'))}).then(() => {
  const s = require('node:net').connect(9, '127.0.0.1')
  s.on('error', () => process.exit(0))
  s.on('connect', () => process.exit(0))
})`

describe('ONNX Runtime telemetry', () => {
  it('needs strace (apt-get install strace; .ci/run installs it)', () => {
    expect(STRACE, 'strace not found').toBeDefined()
  })

  it.runIf(STRACE)(
    'control: without the switch, ONNX Runtime writes its event database and the detectors see it',
    () => {
      const r = traced(['-e', CONTROL])
      expect(r.status, r.stderr).toBe(0)
      expect(r.homeFiles.some((f) => f.endsWith('onnxruntime.db'))).toBe(true)
      expect(r.network.length).toBeGreaterThan(0)
    },
    120_000,
  )

  it.runIf(STRACE)(
    'a generation on the bundled model creates no telemetry file and opens no socket',
    () => {
      const out = mkdtempSync(join(tmpdir(), 'telemetry-out-'))
      const r = traced([
        '--import',
        'tsx',
        'scripts/generate.ts',
        '--prompt',
        'a red circle',
        '--steps',
        '2',
        '--seed',
        '1',
        '--out',
        out,
      ])
      expect(r.status, r.stderr).toBe(0)
      expect(existsSync(join(out, 'image.png'))).toBe(true)
      expect(r.homeFiles).toEqual([])
      expect(r.network).toEqual([])
    },
    240_000,
  )
})
