/**
 * The model library against a real HTTP server on loopback that behaves like the Hub
 * (test/helpers/hub-server.ts) and serves the bundled model laid out as Hub repositories:
 * install then generate with heat maps through the real AppService, resume after a dropped
 * connection and after a restart, hash mismatch, 404, gated 401/403 and the token's reach,
 * a non-diffusers layout refused before any download, cancel, two downloads at once, deleting
 * the model in use, and a full disk (a small tmpfs).
 */
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { startHubServer, type HubServer } from '../../../test/helpers/hub-server'
import { MemorySecretStore } from '../../../test/helpers/secret-store'
import { deserializeRecord } from '../../shared/attention-record'
import type { DownloadSnapshot, LibraryChangedEvent } from '../../shared/ipc/library'
import { AppError } from '../../shared/ipc/result'
import { AppService } from '../service'
import { LibraryService } from './library-service'

const MODELS = path.resolve(__dirname, '..', '..', '..', 'models')
const SHAPES = path.join(MODELS, 'daam-shapes')
const TOKEN = 'hf_loopbackTestToken0123456789'
/** The files the text-to-image pipeline needs from the bundled model (no vae_encoder). */
const NEEDED = [
  'model_index.json',
  'scheduler/scheduler_config.json',
  'text_encoder/config.json',
  'text_encoder/model.onnx',
  'tokenizer/merges.txt',
  'tokenizer/special_tokens_map.json',
  'tokenizer/tokenizer_config.json',
  'tokenizer/vocab.json',
  'unet/config.json',
  'unet/model.onnx',
  'vae_decoder/config.json',
  'vae_decoder/model.onnx',
]

function tmp(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix))
}

async function failure(p: Promise<unknown>): Promise<AppError> {
  try {
    await p
  } catch (e) {
    if (e instanceof AppError) return e
    throw e
  }
  throw new Error('expected a failure')
}

function filesUnder(dir: string): string[] {
  return (fs.readdirSync(dir, { recursive: true, withFileTypes: true }) as fs.Dirent[])
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)).split(path.sep).join('/'))
    .sort()
}

async function until(check: () => boolean, what: string, ms = 20_000): Promise<void> {
  const end = Date.now() + ms
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

let hub: HubServer
let pytorchDir: string

beforeAll(async () => {
  pytorchDir = tmp('daam-pt-repo-')
  fs.mkdirSync(path.join(pytorchDir, 'unet'))
  fs.writeFileSync(path.join(pytorchDir, 'model_index.json'), '{"_class_name":"StableDiffusionPipeline"}')
  fs.writeFileSync(path.join(pytorchDir, 'unet', 'diffusion_pytorch_model.safetensors'), Buffer.alloc(4096, 7))
  hub = await startHubServer({
    'daam/shapes-onnx': {
      dir: SHAPES,
      branches: ['onnx'],
      extraFiles: {
        'unet/diffusion_pytorch_model.safetensors': Buffer.alloc(300_000, 1),
        'safety_checker/model.onnx': Buffer.alloc(200_000, 2),
        'README.md': '# shapes\n',
      },
    },
    'daam/gated-shapes': { dir: SHAPES, gatedToken: TOKEN },
    'daam/pytorch-only': { dir: pytorchDir },
  })
})

afterAll(async () => {
  await hub.close()
  fs.rmSync(pytorchDir, { recursive: true, force: true })
})

afterEach(() => {
  hub.faults.dropAfter?.clear()
  hub.faults.corrupt?.clear()
  hub.faults.throttleBytesPerSecond = 0
})

function library(dir: string, secrets = new MemorySecretStore(), activeDir: () => string | null = () => null) {
  return new LibraryService({
    defaultModelsDir: dir,
    endpoint: hub.url,
    settingsFile: null,
    secrets,
    activeModel: () => ({ dir: activeDir(), provider: null }),
  })
}

describe('model library on a loopback Hub', () => {
  it('installs only the pipeline files, verified, then the app loads it and generates with heat maps', async () => {
    const userData = tmp('daam-lib-svc-')
    const service = new AppService({ modelsDir: MODELS, userDataDir: userData, hubEndpoint: hub.url, threads: 1 })
    const events: LibraryChangedEvent[] = []
    service.events.on('library:changed', (e) => events.push(e))
    try {
      const plan = await service.library.inspect('daam/shapes-onnx')
      expect(plan.commit).toBe(hub.commit('daam/shapes-onnx'))
      expect(plan.files.map((f) => f.path).sort()).toEqual(NEEDED)
      expect(plan.totalBytes).toBe(hub.size('daam/shapes-onnx', NEEDED))
      expect(plan.skipped.map((s) => s.path).sort()).toEqual(
        [
          'README.md',
          'safety_checker/model.onnx',
          'unet/diffusion_pytorch_model.safetensors',
          'vae_encoder/config.json',
          'vae_encoder/model.onnx',
          // the bundled model's synthetic-world description: not a pipeline file
          'world.json',
        ].sort(),
      )
      expect(plan.fits).toBe(true)

      const started = await service.library.add('daam/shapes-onnx')
      const done = await service.library.settled(started.id)
      expect(done.error).toBeUndefined()
      expect(done.state).toBe('done')
      expect(done.doneBytes).toBe(plan.totalBytes)
      const dir = path.join(userData, 'models', 'shapes-onnx')
      expect(done.installedDir).toBe(dir)
      expect(filesUnder(dir)).toEqual(['.daam-model.json', ...NEEDED].sort())
      for (const f of NEEDED)
        expect(fs.readFileSync(path.join(dir, f)).equals(fs.readFileSync(path.join(SHAPES, f)))).toBe(true)
      // nothing left in staging; progress was reported with per-file detail
      expect(fs.readdirSync(path.join(userData, 'models', '.downloads'))).toEqual([])
      await until(() => events.some((e) => e.installedChanged), 'the install event')
      expect(
        events.some((e) => e.downloads.some((d) => d.files.some((f) => f.path === 'unet/model.onnx' && f.done > 0))),
      )

      const state = await service.library.state()
      const installed = state.installed.find((m) => m.name === 'shapes-onnx')!
      expect(installed.maps).toBe(true)
      expect(installed.attentionLayers).toBeGreaterThan(0)
      expect([installed.width, installed.height]).toEqual([128, 128])
      expect(installed.source?.commit).toBe(plan.commit)

      const model = await service.loadModel(dir)
      expect(model.layers.length).toBe(installed.attentionLayers)
      const g = await service.generate({ prompt: 'a red circle above a blue square', steps: 4, seed: 1 })
      const record = deserializeRecord(g.record!)
      expect(record.layers.length).toBe(installed.attentionLayers)
      const circle = g.words.find((w) => w.text === 'circle')!
      expect(circle.tokenIndices.length).toBeGreaterThan(0)
      expect((await service.library.state()).installed.find((m) => m.name === 'shapes-onnx')!.inUse).toBe(true)
    } finally {
      await service.dispose()
      fs.rmSync(userData, { recursive: true, force: true })
    }
  }, 120_000)

  it('keeps downloading while the app generates with another model', async () => {
    const userData = tmp('daam-lib-gen-')
    const service = new AppService({ modelsDir: MODELS, userDataDir: userData, hubEndpoint: hub.url, threads: 1 })
    try {
      await service.currentModel() // the bundled model, loaded
      hub.faults.throttleBytesPerSecond = 2_000_000
      const started = await service.library.add('daam/shapes-onnx')
      await until(() => service.library.downloads()[0].doneBytes > 0, 'the download to start')
      const g = await service.generate({ prompt: 'a red circle', steps: 4, seed: 2 })
      expect(g.record).toBeDefined()
      const during = service.library.downloads()[0]
      expect(during.state).toBe('downloading')
      expect(during.doneBytes).toBeLessThan(during.totalBytes)
      expect((await service.library.settled(started.id)).state).toBe('done')
    } finally {
      await service.dispose()
      fs.rmSync(userData, { recursive: true, force: true })
    }
  }, 60_000)

  it('resumes with a range request after the server drops the connection mid-file', async () => {
    const dir = tmp('daam-lib-drop-')
    const lib = library(dir)
    hub.faults.dropAfter!.set('unet/model.onnx', 3_000_000)
    const before = hub.requests.length
    const done = await lib.settled((await lib.add('daam/shapes-onnx@onnx')).id)
    expect(done.error).toBeUndefined()
    expect(done.state).toBe('done')
    const unet = hub.requests.slice(before).filter((r) => r.server === 'cdn' && r.range && r.range !== 'bytes=0-0')
    const resumed = unet.map((r) => Number(/^bytes=(\d+)-/.exec(r.range!)![1])).filter((start) => start > 0)
    expect(resumed.length).toBe(1)
    expect(resumed[0]).toBeGreaterThan(2_000_000) // picked up near where it stopped, not from 0
    expect(
      fs
        .readFileSync(path.join(dir, 'shapes-onnx-onnx', 'unet', 'model.onnx'))
        .equals(fs.readFileSync(path.join(SHAPES, 'unet', 'model.onnx'))),
    ).toBe(true)
    fs.rmSync(dir, { recursive: true, force: true })
  })

  it('resumes after a restart from the partial file it left', async () => {
    const dir = tmp('daam-lib-restart-')
    hub.faults.throttleBytesPerSecond = 4_000_000
    const first = library(dir)
    const started = await first.add('daam/shapes-onnx')
    await until(() => first.downloads()[0].doneBytes > 3_000_000, 'some progress')
    await first.dispose() // app quits: the download pauses, its partial files stay
    const kept = first.downloads()[0]
    expect(kept.state).toBe('paused')
    hub.faults.throttleBytesPerSecond = 0

    const second = library(dir)
    const restored = (await second.state()).downloads
    expect(restored.map((d) => [d.id, d.state])).toEqual([[started.id, 'paused']])
    expect(restored[0].doneBytes).toBe(kept.doneBytes)
    const before = hub.requests.length
    await second.resume(started.id)
    const done = await second.settled(started.id)
    expect(done.state).toBe('done')
    const ranges = hub.requests.slice(before).filter((r) => r.server === 'cdn' && r.range && r.range !== 'bytes=0-0')
    expect(ranges.some((r) => Number(/^bytes=(\d+)-/.exec(r.range!)![1]) > 0)).toBe(true)
    expect((await second.state()).installed.map((m) => m.name)).toEqual(['shapes-onnx'])
    fs.rmSync(dir, { recursive: true, force: true })
  })

  it('rejects a file whose bytes do not match its hash and installs nothing', async () => {
    const dir = tmp('daam-lib-hash-')
    const lib = library(dir)
    hub.faults.corrupt!.add('text_encoder/model.onnx')
    const done = await lib.settled((await lib.add('daam/shapes-onnx')).id)
    expect(done.state).toBe('failed')
    expect(done.error?.code).toBe('hash-mismatch')
    expect(done.error?.message).toMatch(/text_encoder\/model\.onnx does not match the hash/)
    expect(fs.readdirSync(dir).filter((n) => n !== '.downloads')).toEqual([])
    expect(fs.readdirSync(path.join(dir, '.downloads'))).toEqual([])
    expect((await lib.state()).installed).toEqual([])
    fs.rmSync(dir, { recursive: true, force: true })
  })

  it('says clearly when a repository does not exist', async () => {
    const lib = library(tmp('daam-lib-404-'))
    const e = await failure(lib.inspect('daam/no-such-model'))
    expect(e.code).toBe('not-found')
    expect(e.message).toContain(`daam/no-such-model was not found on ${hub.url}`)
    expect((await failure(lib.inspect('daam/shapes-onnx@nope'))).code).toBe('not-found')
    expect((await failure(lib.inspect('not a repo'))).code).toBe('invalid-request')
    const secrets = new MemorySecretStore()
    await secrets.set('hf-token', TOKEN)
    const withToken = await failure(library(tmp('daam-lib-404t-'), secrets).inspect('daam/no-such-model'))
    expect([withToken.code, withToken.message]).toEqual([e.code, e.message])
  })

  it('keeps its settings in library.json; offline hides the Hub; bad endpoints are refused', async () => {
    const dir = tmp('daam-lib-settings-')
    const settingsFile = path.join(dir, 'library.json')
    const make = () =>
      new LibraryService({
        defaultModelsDir: path.join(dir, 'models'),
        settingsFile,
        activeModel: () => ({ dir: null, provider: null }),
      })
    const lib = make()
    expect((await lib.getSettings()).endpoint).toBe('https://huggingface.co')
    expect((await failure(lib.updateSettings({ endpoint: 'ftp://mirror' }))).code).toBe('invalid-request')
    await lib.updateSettings({ endpoint: `${hub.url}/`, offline: true, modelsDir: path.join(dir, 'elsewhere') })
    const again = make()
    const s = await again.getSettings()
    expect([s.endpoint, s.offline, s.modelsDir, s.tokenStored, s.tokenStorage]).toEqual([
      hub.url,
      true,
      path.join(dir, 'elsewhere'),
      false,
      false,
    ])
    const before = hub.requests.length
    expect((await failure(again.inspect('daam/shapes-onnx'))).code).toBe('offline')
    expect(hub.requests.length).toBe(before)
    await again.updateSettings({ offline: false })
    expect((await again.inspect('daam/shapes-onnx')).files.length).toBe(NEEDED.length)
    // without an encrypted store a token lasts for the session only, and is never written anywhere
    await again.setToken(TOKEN)
    expect((await again.getSettings()).tokenStored).toBe(true)
    expect(fs.readFileSync(settingsFile, 'utf8')).not.toContain(TOKEN)
    expect((await make().getSettings()).tokenStored).toBe(false)
    fs.rmSync(dir, { recursive: true, force: true })
  })

  it('explains gated repositories, and sends the token to the Hub host only', async () => {
    const secrets = new MemorySecretStore()
    const dir = tmp('daam-lib-gated-')
    const lib = library(dir, secrets)
    const anonymous = await failure(lib.inspect('daam/gated-shapes'))
    expect(anonymous.code).toBe('gated')
    expect(anonymous.message).toMatch(/gated repository: it needs a Hugging Face token/)
    expect(anonymous.message).toContain('/settings/tokens')
    await lib.setToken('hf_someoneElsesToken000000000')
    // listing is public on the Hub; the files answer 403 to a token without access
    const wrong = await lib.settled((await lib.add('daam/gated-shapes')).id)
    expect(wrong.state).toBe('failed')
    expect(wrong.error?.code).toBe('gated')
    expect(wrong.error?.message).toMatch(/has not been granted access/)
    expect(fs.readdirSync(path.join(dir, '.downloads'))).toEqual([])
    expect((await failure(lib.setToken('not-a-token'))).code).toBe('invalid-request')

    await lib.setToken(TOKEN)
    expect(secrets.values.get('hf-token')).toBe(TOKEN)
    expect(JSON.stringify(await lib.state())).not.toContain(TOKEN)
    const before = hub.requests.length
    const done = await lib.settled((await lib.add('daam/gated-shapes')).id)
    expect(done.state).toBe('done')
    const log = hub.requests.slice(before)
    expect(log.filter((r) => r.server === 'hub').every((r) => r.authorization)).toBe(true)
    expect(log.filter((r) => r.server === 'cdn').length).toBeGreaterThan(0)
    expect(log.filter((r) => r.server === 'cdn').some((r) => r.authorization)).toBe(false)
    fs.rmSync(dir, { recursive: true, force: true })
  })

  it('refuses a repository that is not a diffusers ONNX layout before downloading anything', async () => {
    const dir = tmp('daam-lib-layout-')
    const lib = library(dir)
    const before = hub.requests.length
    const e = await failure(lib.add('daam/pytorch-only'))
    expect(e.code).toBe('not-onnx-layout')
    expect(e.message).toMatch(/not a diffusers ONNX Stable Diffusion layout: missing the text encoder/)
    expect(e.message).toMatch(/PyTorch weights only/)
    expect(hub.requests.slice(before).some((r) => r.url.includes('/resolve/'))).toBe(false)
    expect(fs.readdirSync(dir)).toEqual([])
    fs.rmSync(dir, { recursive: true, force: true })
  })

  it('cancels a download and removes its partial files', async () => {
    const dir = tmp('daam-lib-cancel-')
    const lib = library(dir)
    hub.faults.throttleBytesPerSecond = 2_000_000
    const started = await lib.add('daam/shapes-onnx')
    await until(() => lib.downloads()[0].doneBytes > 500_000, 'some progress')
    const cancelled = await lib.cancel(started.id)
    expect(cancelled.state).toBe('cancelled')
    expect(lib.downloads()).toEqual([])
    expect(fs.readdirSync(path.join(dir, '.downloads'))).toEqual([])
    expect((await lib.state()).installed).toEqual([])
    fs.rmSync(dir, { recursive: true, force: true })
  })

  it('runs two downloads at once', async () => {
    const dir = tmp('daam-lib-two-')
    const secrets = new MemorySecretStore()
    await secrets.set('hf-token', TOKEN)
    const lib = library(dir, secrets)
    hub.faults.throttleBytesPerSecond = 6_000_000
    const a = await lib.add('daam/shapes-onnx')
    const b = await lib.add('daam/gated-shapes')
    let overlap = false
    await until(() => {
      const d = lib.downloads()
      overlap ||= d.filter((x) => x.state === 'downloading' && x.doneBytes > 0).length === 2
      return d.every((x) => x.state !== 'downloading' && x.state !== 'installing')
    }, 'both downloads')
    expect(overlap).toBe(true)
    const finals: DownloadSnapshot[] = [await lib.settled(a.id), await lib.settled(b.id)]
    expect(finals.map((f) => f.state)).toEqual(['done', 'done'])
    expect((await lib.state()).installed.map((m) => m.name)).toEqual(['gated-shapes', 'shapes-onnx'])
    expect((await failure(lib.add('daam/shapes-onnx'))).code).toBe('exists')
    fs.rmSync(dir, { recursive: true, force: true })
  })

  it('refuses to delete the model in use, deletes it once another is loaded', async () => {
    const dir = tmp('daam-lib-delete-')
    let active: string | null = null
    const lib = library(dir, new MemorySecretStore(), () => active)
    const done = await lib.settled((await lib.add('daam/shapes-onnx')).id)
    active = done.installedDir!
    const e = await failure(lib.remove('shapes-onnx'))
    expect(e.code).toBe('in-use')
    expect(fs.existsSync(done.installedDir!)).toBe(true)
    active = SHAPES
    await lib.remove('shapes-onnx')
    expect(fs.existsSync(done.installedDir!)).toBe(false)
    expect((await lib.state()).installed).toEqual([])
    expect((await failure(lib.remove('../etc'))).code).toBe('invalid-request')
    fs.rmSync(dir, { recursive: true, force: true })
  })
})

describe('model library on a full disk (tmpfs)', () => {
  let mountDir: string | null = null
  let skipReason = ''
  beforeAll(() => {
    const dir = tmp('daam-lib-tmpfs-')
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=24m', 'tmpfs', dir], { stdio: 'pipe' })
      mountDir = dir
    } catch (e) {
      skipReason = `cannot mount a tmpfs here (needs root): ${(e as Error).message.split('\n')[0]}`
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })
  afterAll(() => {
    if (!mountDir) return
    execFileSync('umount', [mountDir])
    fs.rmSync(mountDir, { recursive: true, force: true })
  })

  it('fails clearly when the disk fills mid-download, removes the partial files, keeps other models', async (ctx) => {
    if (!mountDir) return ctx.skip(skipReason)
    const lib = library(
      mountDir,
      (() => {
        const s = new MemorySecretStore()
        void s.set('hf-token', TOKEN)
        return s
      })(),
    )
    const first = await lib.settled((await lib.add('daam/shapes-onnx')).id)
    expect(first.state).toBe('done')
    const firstFiles = filesUnder(first.installedDir!).map(
      (f) => [f, fs.readFileSync(path.join(first.installedDir!, f))] as const,
    )

    hub.faults.throttleBytesPerSecond = 3_000_000
    const second = await lib.add('daam/gated-shapes') // fits when it starts
    await until(() => lib.downloads().find((d) => d.id === second.id)!.doneBytes > 1_000_000, 'some progress')
    // something else fills the disk meanwhile
    const statfs = fs.statfsSync(mountDir)
    fs.writeFileSync(
      path.join(mountDir, 'filler.bin'),
      Buffer.alloc(Math.max(0, statfs.bavail * statfs.bsize - 64 * 1024)),
    )
    const failed = await lib.settled(second.id)
    expect(failed.state).toBe('failed')
    expect(failed.error?.code).toBe('disk-full')
    expect(failed.error?.message).toMatch(
      /the disk is full.*partial files were removed; installed models are untouched/,
    )
    expect(fs.readdirSync(path.join(mountDir, '.downloads'))).toEqual([])
    expect(fs.existsSync(path.join(mountDir, 'gated-shapes'))).toBe(false)
    for (const [f, bytes] of firstFiles)
      expect(fs.readFileSync(path.join(first.installedDir!, f)).equals(bytes)).toBe(true)

    // with the filler still there, a new download is refused before it starts
    fs.truncateSync(path.join(mountDir, 'filler.bin'), 0)
    fs.writeFileSync(path.join(mountDir, 'filler.bin'), Buffer.alloc(10 * 1024 * 1024))
    const refused = await failure(lib.add('daam/gated-shapes'))
    expect(refused.code).toBe('disk-full')
    expect(refused.message).toMatch(/Not enough free space .* needs 9\.\d MB, .* is free\. Nothing was downloaded\./)
  })
})
