/**
 * Property-based fuzzing of every IPC channel (issue 12 §6), kept in the unit tests so the audit
 * keeps running. Arbitrary and hostile payloads (wrong types, huge strings, `__proto__` and
 * `constructor` keys, NaN and Infinity, deep nesting, `../` and NUL in paths, ids that look like
 * paths) go through the real dispatcher (`createDispatcher` + `bindService`) into a real
 * `AppService` on the bundled model, with its userData, save and export folders in a temporary
 * sandbox and scripted dialogs. Properties, for every call:
 *
 * - the dispatcher never throws and always answers a well-formed, IPC-clonable `Result`;
 * - a payload the contract's schema refuses gets `invalid-request`; no call ever gets `internal`
 *   (an untyped failure) and every error message is short, plain text;
 * - nothing pollutes `Object.prototype`;
 * - and, checked after each channel and at the end: the service still answers valid calls, and no
 *   file appeared outside the sandbox's own folders (nor in the working directory or the model folder).
 *
 * The bundled model is loaded once and one generation is made for the overlay and history
 * channels. Generations that pass the schema run for real but small (at most 4 steps at 128²):
 * what big sizes cost is the resource checks' business, not this suite's. The whole file runs in
 * well under a minute. A failure prints fast-check's seed: `FUZZ_SEED=<seed> npx vitest run
 * src/main/ipc/dispatch.fuzz.test.ts` replays the same runs.
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { APP_URL } from '../../../test/helpers/ipc'
import { AppService, bindService } from '../service'
import { channelNames, channels, isResult, type Channel, type Result } from '../../shared/ipc/contract'
import { STREAM_NAMES, type StreamName } from '../../shared/attention-record'
import { DEFAULT_OVERLAY } from '../../shared/heatmap/overlay'
import type { OverlaySpec } from '../../shared/ipc/overlay'
import type { GenerationPayload, ModelSummary } from '../../shared/ipc/payloads'
import { createDispatcher, type Dispatch } from './dispatch'
import { createSenderCheck, type SenderInfo } from './trust'

const ROOT = path.resolve(__dirname, '..', '..', '..')
const MODELS = path.join(ROOT, 'models')
const BUNDLED = path.join(MODELS, 'daam-shapes')
const SENDER: SenderInfo = { url: APP_URL, isMainFrame: true }
const PROMPT = 'a snowman wearing a red hat and a blue scarf around its neck'
/** Generations that pass the schema run only this small (see the header). */
const MAX_FUZZ_STEPS = 4
const MAX_FUZZ_PIXELS = 128 * 128
/**
 * An error message is for a person: bounded by the longest field the schema lets through (a
 * 4096-character folder path, which a model error quotes), never by what a payload held.
 */
const MAX_MESSAGE_CHARS = 5000
/** Runs per property; the properties with real work (saving, generating) take fewer. */
const RUNS = 150

if (process.env.FUZZ_SEED) fc.configureGlobal({ seed: Number(process.env.FUZZ_SEED) })

// ---- hostile values ----

const HUGE = 'x'.repeat(1_000_000)
const HOSTILE_STRINGS = [
  '',
  ' ',
  '\0',
  'a\0b',
  'models/daam-shapes\0/etc/passwd',
  '../../../../../../etc/passwd',
  '..\\..\\..\\Windows\\win.ini',
  '/dev/zero',
  '/proc/self/mem',
  '/',
  '.',
  '..',
  '~',
  '$HOME',
  'con',
  'NUL',
  'com1.txt',
  'name. ',
  '__proto__',
  'constructor',
  'prototype',
  'hasOwnProperty',
  'toString',
  'file:///etc/passwd',
  '%2e%2e%2f%2e%2e%2f',
  '\u202egnp.exe',
  '\\\\?\\C:\\Windows',
  '20261128-222025-123-abcdef/../../..',
  '../20261128-222025-123-abcdef',
  '20261128-222025-123-abcdef\0',
  '..-..-..-..',
  '--------',
  '🎩'.repeat(300),
  'x'.repeat(4001),
  HUGE,
]
const HOSTILE_NUMBERS = [
  NaN,
  Infinity,
  -Infinity,
  -0,
  -1,
  0.5,
  1e308,
  -1e308,
  Number.MAX_SAFE_INTEGER + 2,
  Number.MIN_VALUE,
  2 ** 31,
  77,
  100,
  1023,
  4096,
  2048,
  8,
  0,
  1,
]
const HOSTILE_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'valueOf', 'then', '', 'k'.repeat(100_000)]

function nested(depth: number, kind: 'object' | 'array'): unknown {
  let v: unknown = 'leaf'
  for (let i = 0; i < depth; i++) v = kind === 'object' ? { a: v, dir: v, id: v, params: v } : [v]
  return v
}

/** Values that are not plain data, or that try to reach a prototype. Built fresh for each run. */
const specialValue: fc.Arbitrary<unknown> = fc
  .constantFrom(
    () => JSON.parse('{"__proto__": {"polluted": "yes", "dir": "/etc"}}') as unknown,
    () => JSON.parse('{"constructor": {"prototype": {"polluted": "yes"}}}') as unknown,
    () => Object.assign(Object.create(null) as object, { text: 'x', id: '20261128-222025-123-abcdef' }),
    () => Object.create({ dir: BUNDLED, id: '20261128-222025-123-abcdef' }) as unknown,
    () => ({ toString: 'not a function', valueOf: 1 }),
    () => nested(2_000, 'object'),
    () => nested(10_000, 'array'),
    () => new Array(1_000_000),
    () => new Float64Array(16).fill(NaN),
    () => new Map([['dir', BUNDLED]]),
    () => () => 'a function',
    () => Symbol('hostile'),
    () => 10n ** 30n,
    () => new Date(NaN),
    () => undefined,
    () => null,
  )
  .map((make) => make())

const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.anything({
      maxDepth: 3,
      maxKeys: 6,
      withBigInt: true,
      withBoxedValues: true,
      withDate: true,
      withMap: true,
      withSet: true,
      withNullPrototype: true,
      withObjectString: true,
      withSparseArray: true,
      withTypedArray: true,
    }),
  },
  { weight: 3, arbitrary: fc.constantFrom(...HOSTILE_STRINGS) },
  { weight: 3, arbitrary: fc.constantFrom(...HOSTILE_NUMBERS) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }) },
  { weight: 2, arbitrary: specialValue },
)
const hostileKey: fc.Arbitrary<string> = fc.oneof(fc.constantFrom(...HOSTILE_KEYS), fc.string({ maxLength: 20 }))

// ---- structure-aware mutation of a valid payload ----

type Path = (string | number)[]

/** Paths of every node below the root (for replace/delete) and of every object or array (for add). */
function nodePaths(v: unknown, at: Path = [], out: { all: Path[]; containers: Path[] } = { all: [], containers: [] }) {
  // typed arrays (an image's bytes) are leaves: replaced whole, never edited index by index
  if (typeof v === 'object' && v !== null && !ArrayBuffer.isView(v)) {
    out.containers.push(at)
    for (const [k, child] of Object.entries(v)) {
      const p = [...at, Array.isArray(v) ? Number(k) : k]
      out.all.push(p)
      nodePaths(child, p, out)
    }
  }
  return out
}

function nodeAt(root: unknown, p: Path): Record<string | number, unknown> {
  let v = root as Record<string | number, unknown>
  for (const k of p) v = v[k] as Record<string | number, unknown>
  return v
}

interface Mutation {
  kind: 'replace' | 'delete' | 'add-own' | 'add-assign'
  pick: number
  key: string
  value: unknown
}

const mutation: fc.Arbitrary<Mutation> = fc.record({
  kind: fc.constantFrom('replace', 'replace', 'replace', 'delete', 'add-own', 'add-assign'),
  pick: fc.nat(),
  key: hostileKey,
  value: hostileValue,
})

/** A copy of `valid` with one node replaced or deleted, or one (own or assigned) key added. */
function mutate(valid: unknown, m: Mutation): unknown {
  const copy = structuredClone(valid)
  const { all, containers } = nodePaths(copy)
  if (m.kind === 'replace' || m.kind === 'delete') {
    if (all.length === 0) return m.value // no payload: the whole payload is the hostile value
    const p = all[m.pick % all.length]!
    const parent = nodeAt(copy, p.slice(0, -1))
    const last = p[p.length - 1]!
    if (m.kind === 'replace') parent[last] = m.value
    else if (Array.isArray(parent)) parent.splice(Number(last), 1)
    else delete parent[last]
    return copy
  }
  if (containers.length === 0) return { [m.key]: m.value }
  const target = nodeAt(copy, containers[m.pick % containers.length]!)
  // An own property named __proto__ (as JSON.parse makes it) versus an assignment, which for
  // __proto__ replaces the object's prototype instead.
  if (m.kind === 'add-own')
    Object.defineProperty(target, m.key, { value: m.value, enumerable: true, writable: true, configurable: true })
  else target[m.key] = m.value
  return copy
}

// ---- the suite ----

interface Sandbox {
  root: string
  userData: string
  save: string
  export: string
}

/** The service's folders sit four levels down, so `../` escapes of up to four levels still land in the sandbox. */
function makeSandbox(): Sandbox {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'daam-fuzz-'))
  const nest = path.join(root, 'n1', 'n2', 'n3', 'n4')
  const box = {
    root,
    userData: path.join(nest, 'user-data'),
    save: path.join(nest, 'save'),
    export: path.join(nest, 'export'),
  }
  for (const dir of [box.userData, box.save, box.export]) fs.mkdirSync(dir, { recursive: true })
  return box
}

function filesUnder(dir: string): string[] {
  return fs.readdirSync(dir, { recursive: true, withFileTypes: true }).map((e) => path.join(e.parentPath, e.name))
}

function snapshot(dir: string): string[] {
  return filesUnder(dir)
    .map((f) => {
      const s = fs.lstatSync(f)
      return `${f} ${s.size} ${s.mtimeMs}`
    })
    .sort()
}

/** The working directory's own entries: where a relative path from a payload would land. */
function cwdEntries(): string[] {
  return fs.readdirSync(process.cwd()).sort()
}

const prototypeKeys = (): string[] => Object.getOwnPropertyNames(Object.prototype).sort()

describe('IPC fuzzing through the real dispatcher and service', () => {
  let box: Sandbox
  let service: AppService
  let dispatch: Dispatch
  let first: GenerationPayload
  let validSpec: OverlaySpec
  let modelSnapshot: string[]
  let cwdBefore: string[]
  let cleanPrototype: string[]
  const internalErrors: [string, unknown][] = []

  /** One call, checked against the properties every call must keep. */
  async function call(channel: string, payload: unknown, sender: SenderInfo = SENDER): Promise<Result<unknown>> {
    let result: Result<unknown>
    try {
      result = await dispatch(channel, payload, sender)
    } catch (error) {
      throw new Error(`dispatch threw on ${channel}: ${String(error)}`)
    }
    // taken before any assertion, so a failure never leaks into the next (shrinking) run
    const internal = internalErrors.splice(0).map(([c, e]) => `${c}: ${String(e)}`)
    expect(isResult(result), `${channel}: not a Result`).toBe(true)
    if (!result.ok) {
      const { code, message } = result.error
      expect(code, `${channel}: ${message}`).not.toBe('internal')
      expect(code).toMatch(/^[a-z]+(-[a-z]+)*$/)
      expect(typeof message).toBe('string')
      expect(message.length, `${channel}: empty message`).toBeGreaterThan(0)
      expect(message.length, `${channel}: ${message.slice(0, 200)}…`).toBeLessThanOrEqual(MAX_MESSAGE_CHARS)
    }
    expect(() => structuredClone(result), `${channel}: the result cannot cross IPC`).not.toThrow()
    expect(prototypeKeys()).toEqual(cleanPrototype)
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined()
    expect(internal).toEqual([])
    return result
  }

  /** The schema is the security boundary: what it refuses must come back as invalid-request. */
  async function callChecked(channel: Channel, payload: unknown): Promise<Result<unknown>> {
    const accepted = channels[channel].request.safeParse(payload).success
    const result = await call(channel, payload)
    if (!accepted) expect(result.ok ? 'ok' : result.error.code, channel).toBe('invalid-request')
    return result
  }

  /** Valid calls that must still work after any amount of fuzzing. */
  async function expectUsable(): Promise<void> {
    expect((await call('app:getInfo', undefined)).ok).toBe(true)
    const current = await call('model:current', undefined)
    expect(current.ok && (current.value as ModelSummary).dir).toBe(BUNDLED)
    const entry = await call('history:get', { id: first.id })
    expect(entry.ok && (entry.value as GenerationPayload).id).toBe(first.id)
    const saved = await call('overlay:save', { id: first.id, spec: validSpec })
    expect(saved.ok).toBe(true)
    const file = saved.ok ? (saved.value as { path: string }).path : ''
    expect(path.dirname(file)).toBe(box.save)
    expect(fs.existsSync(file)).toBe(true)
    expect(await call('generate:cancel', undefined)).toEqual({ ok: true, value: { cancelled: false } })
  }

  /** Written files stay in the service's folders; the working directory and the model are untouched. */
  function expectContained(): void {
    const allowed = [box.userData, box.save, box.export].map((d) => d + path.sep)
    const outside = filesUnder(box.root).filter(
      (f) => !fs.lstatSync(f).isDirectory() && !allowed.some((d) => f.startsWith(d)),
    )
    expect(outside).toEqual([])
    const dirs = filesUnder(box.root).filter((f) => fs.lstatSync(f).isDirectory())
    const allowedDirs = new Set([...[box.userData, box.save, box.export].flatMap((d) => ancestors(d, box.root))])
    expect(dirs.filter((d) => !allowedDirs.has(d) && !allowed.some((a) => d.startsWith(a)))).toEqual([])
    expect(snapshot(BUNDLED)).toEqual(modelSnapshot)
    expect(cwdEntries()).toEqual(cwdBefore)
  }

  function ancestors(dir: string, root: string): string[] {
    const out: string[] = []
    for (let d = dir; d.startsWith(root + path.sep); d = path.dirname(d)) out.push(d)
    return out
  }

  beforeAll(async () => {
    cleanPrototype = prototypeKeys()
    modelSnapshot = snapshot(BUNDLED)
    cwdBefore = cwdEntries()
    box = makeSandbox()
    service = new AppService({
      modelsDir: MODELS,
      userDataDir: box.userData,
      threads: 1,
      dialogAnswers: { saveFile: box.save, chooseFolder: box.export, openModel: BUNDLED },
      // The library's channels are fuzzed too: a closed loopback port, so no payload reaches a network.
      hubEndpoint: 'http://127.0.0.1:9',
    })
    dispatch = createDispatcher(bindService(service), {
      isTrustedSender: createSenderCheck({ files: [APP_URL] }),
      onInternalError: (channel, error) => internalErrors.push([channel, error]),
    })
    const r = await dispatch(
      'generate:start',
      { params: { prompt: PROMPT, negativePrompt: 'blurry green square', steps: 2, seed: 3 } },
      SENDER,
    )
    if (!r.ok) throw new Error(`the seed generation failed: ${r.error.message}`)
    first = r.value as GenerationPayload
    const hat = first.words.find((w) => w.text === 'hat')!
    validSpec = { ...DEFAULT_OVERLAY, words: [{ label: 'hat', tokens: hat.tokenIndices }], stream: 'cond' }
  }, 60_000)

  afterAll(async () => {
    await service?.dispose()
    if (box) fs.rmSync(box.root, { recursive: true, force: true })
  })

  /** A valid payload per channel, the seed of the structure-aware mutations. */
  function validPayload(channel: Channel): unknown {
    switch (channel) {
      case 'model:load':
        return { dir: BUNDLED }
      case 'generate:start':
        return { params: { prompt: 'a red hat', negativePrompt: 'blue', steps: 1, seed: 1, width: 128, height: 128 } }
      case 'overlay:save':
      case 'overlay:saveAll':
      case 'maps:export':
      case 'timelapse:save':
        return {
          id: first.id,
          spec: { ...validSpec, filter: { resolutions: [first.width / 8], steps: { from: 0, to: 1 }, step: 0 } },
        }
      case 'attribute:start':
        return { image: first.png, name: 'first.png', prompt: 'a red hat' }
      case 'history:get':
      case 'history:delete':
        return { id: first.id }
      default:
        return undefined
    }
  }

  /** Generations that pass the schema but would be expensive are skipped (see the header). */
  function affordable(channel: Channel, payload: unknown): boolean {
    if (channel !== 'generate:start') return true
    const parsed = channels['generate:start'].request.safeParse(payload)
    if (!parsed.success) return true
    const p = parsed.data.params
    return p.steps <= MAX_FUZZ_STEPS && (p.width ?? first.width) * (p.height ?? first.height) <= MAX_FUZZ_PIXELS
  }

  /** Deleting the seed generation would end the suite's overlay checks; other ids are fair game. */
  function keepsSeed(channel: Channel, payload: unknown): boolean {
    if (channel !== 'history:delete') return true
    const parsed = channels['history:delete'].request.safeParse(payload)
    return !parsed.success || parsed.data.id !== first.id
  }

  const heavy = new Set<Channel>([
    'generate:start',
    'overlay:save',
    'overlay:saveAll',
    'maps:export',
    'timelapse:save',
    'attribute:start',
  ])

  it.each(channelNames)('%s: arbitrary and mutated payloads get typed answers', async (channel) => {
    const payload = fc.oneof(
      { weight: 1, arbitrary: hostileValue },
      { weight: 3, arbitrary: mutation.map((m) => mutate(validPayload(channel), m)) },
    )
    await fc.assert(
      fc.asyncProperty(payload, async (p) => {
        fc.pre(affordable(channel, p) && keepsSeed(channel, p))
        await callChecked(channel, p)
      }),
      { numRuns: heavy.has(channel) ? RUNS / 3 : RUNS },
    )
    await expectUsable()
    expectContained()
  })

  it('history ids that look like paths or real ids never reach another file', async () => {
    const id = fc.oneof(
      fc.stringMatching(/^[0-9A-Za-z-]{8,64}$/),
      fc.constantFrom(...HOSTILE_STRINGS),
      fc.constantFrom('history', 'settings', 'user-data', '..', first.id.toUpperCase(), `${first.id}-`),
    )
    const readers: Channel[] = ['history:get', 'history:delete', 'overlay:save', 'overlay:saveAll', 'maps:export']
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...readers), id, async (channel, id) => {
        fc.pre(id !== first.id)
        const history = channel === 'history:delete' || channel === 'history:get'
        const r = await callChecked(channel, history ? { id } : { id, spec: validSpec })
        if (channel === 'history:delete' && r.ok) expect(r.value).toEqual({ deleted: false })
        else expect(r.ok ? 'ok' : r.error.code, id).toMatch(/^(invalid-request|not-found)$/)
      }),
      { numRuns: RUNS },
    )
    for (const channel of ['history:get', 'history:delete'] as const) {
      const r = await callChecked(channel, { id: 'ABCDEFGH-not-there' })
      expect(r.ok ? r.value : r.error.code).toEqual(channel === 'history:get' ? 'not-found' : { deleted: false })
    }
    await expectUsable()
    expectContained()
  })

  it('unknown channel names and untrusted senders are refused before any handler runs', async () => {
    const name = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 40 }),
      fc.constantFrom('__proto__', 'constructor', 'toString', 'hasOwnProperty', 'app:getInfo ', 'APP:GETINFO', ':'),
      fc.constantFrom(`app:${HUGE}`, HUGE),
      fc.constantFrom(...channelNames).map((c) => `${c}\0`),
    )
    await fc.assert(
      fc.asyncProperty(name, hostileValue, async (channel, payload) => {
        const r = await call(channel, payload)
        expect(r.ok ? 'ok' : r.error.code).toBe('unknown-channel')
      }),
      { numRuns: RUNS },
    )
    const sender = fc.record({
      url: fc.oneof(
        fc.constant(undefined),
        fc.webUrl(),
        fc.string({ maxLength: 60 }),
        fc.constantFrom(
          `${APP_URL}/../../evil.html`,
          `${APP_URL}/`,
          'file:///tmp/evil.html',
          'file://evil/opt/daam',
          `data:text/html,${HUGE}`,
        ),
      ),
      isMainFrame: fc.boolean(),
    })
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...channelNames), sender, async (channel, from) => {
        // URL-equivalent spellings of the app page (case of the scheme, a #hash) are the app page
        fc.pre(!from.isMainFrame || !from.url || !URL.canParse(from.url) || new URL(from.url).href !== APP_URL)
        const r = await call(channel, validPayload(channel), from as SenderInfo)
        expect(r.ok ? 'ok' : r.error.code).toBe('forbidden-sender')
      }),
      { numRuns: RUNS },
    )
  })

  it('valid overlay specs for the generation all save, in every mode, colour map and filter', async () => {
    const chips = (stream: StreamName) =>
      (stream === 'cond' ? first.words : first.negativeWords).filter((w) => w.tokenIndices.length > 0)
    const resolutions = [...new Set(first.layers.length ? [first.width / 8, first.width / 16] : [])]
    const stream = fc.constantFrom<StreamName>(...STREAM_NAMES)
    const streamAndWords = stream.chain((s) =>
      fc.record({
        stream: fc.constant(s),
        words: fc
          .subarray(chips(s), { minLength: 1, maxLength: Math.min(4, chips(s).length) })
          .map((ws) => ws.map((w) => ({ label: w.text, tokens: w.tokenIndices }))),
      }),
    )
    const rest = fc.record({
      mode: fc.constantFrom('heatmap', 'mask'),
      colormap: fc.constantFrom('jet', 'turbo', 'inferno', 'viridis'),
      opacity: fc.double({ min: 0, max: 1, noNaN: true }),
      tau: fc.double({ min: 0, max: 1, noNaN: true }),
      normalization: fc.constantFrom('word', 'absolute', 'across'),
      filter: fc.record(
        {
          resolutions: fc.subarray(resolutions, { minLength: 1 }),
          steps: fc.constant({ from: 0, to: 1 }),
          step: fc.constantFrom(0, 1),
        },
        { requiredKeys: [] },
      ),
    })
    const spec = fc.tuple(streamAndWords, rest).map(([a, b]) => ({ ...a, ...b }))
    const channel = fc.constantFrom<Channel>('overlay:save', 'overlay:saveAll', 'maps:export')
    await fc.assert(
      fc.asyncProperty(channel, spec, async (c, s) => {
        const r = await callChecked(c, { id: first.id, spec: s })
        expect(r.ok ? 'ok' : `${r.error.code}: ${r.error.message}`).toBe('ok')
      }),
      { numRuns: RUNS / 5 },
    )
    expectContained()
  })

  it('overlay specs the schema accepts but the generation does not fit get typed errors', async () => {
    // token indices past the prompt, layer sizes the model does not have, steps past the run,
    // the negative stream's words on the prompt's stream: valid shapes, wrong for this record
    const spec = fc.record({
      words: fc.array(
        fc.record({
          label: fc.constantFrom('hat', 'ghost'),
          tokens: fc.array(fc.nat(1023), { minLength: 1, maxLength: 3 }),
        }),
        { minLength: 1, maxLength: 3 },
      ),
      stream: fc.constantFrom('cond', 'uncond'),
      mode: fc.constantFrom('heatmap', 'mask'),
      colormap: fc.constant('jet'),
      opacity: fc.constant(0.5),
      tau: fc.constant(0.4),
      normalization: fc.constantFrom('word', 'absolute', 'across'),
      filter: fc.record(
        {
          resolutions: fc.array(fc.integer({ min: 1, max: 4096 }), { maxLength: 3 }),
          steps: fc.record({ from: fc.nat(1000), to: fc.nat(1000) }),
          step: fc.nat(1000),
        },
        { requiredKeys: [] },
      ),
    })
    const channel = fc.constantFrom<Channel>('overlay:save', 'overlay:saveAll', 'maps:export')
    await fc.assert(
      fc.asyncProperty(channel, spec, async (c, s) => {
        await callChecked(c, { id: first.id, spec: s })
      }),
      { numRuns: RUNS / 5 },
    )
    await expectUsable()
    expectContained()
  })

  it('bursts of concurrent calls on every channel all get typed answers', async () => {
    const one = fc.constantFrom(...channelNames).chain((c) =>
      fc.tuple(
        fc.constant(c),
        fc.oneof(
          fc.constant(validPayload(c)),
          mutation.map((m) => mutate(validPayload(c), m)),
        ),
      ),
    )
    await fc.assert(
      fc.asyncProperty(fc.array(one, { minLength: 2, maxLength: 8 }), async (batch) => {
        fc.pre(batch.every(([c, p]) => affordable(c, p) && keepsSeed(c, p)))
        await Promise.all(batch.map(([c, p]) => callChecked(c, p)))
      }),
      { numRuns: RUNS / 5 },
    )
    await expectUsable()
    expectContained()
  })

  it('still generates after all of it', async () => {
    const r = await call('generate:start', { params: { prompt: PROMPT, steps: 1, seed: 3 } })
    expect(r.ok).toBe(true)
    expectContained()
  })
})
