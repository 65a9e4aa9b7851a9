import { describe, expect, it, vi } from 'vitest'
import { createSenderCheck } from '../../main/ipc/trust'
import { registerIpc } from '../../main/ipc/register'
import { createDispatcher, forwardEvents, MAX_ERROR_MESSAGE_CHARS } from '../../main/ipc/dispatch'
import { AppService, bindService } from '../../main/service'
import { channelNames, channels, eventNames, splitName, type Result } from './contract'
import { createApi, type Transport } from './create-api'
import { APP_URL, RecordingIpcMain, frameEvent } from '../../../test/helpers/ipc'

function setup() {
  const ipcMain = new RecordingIpcMain()
  const service = new AppService({ modelsDir: '/nonexistent/models' })
  const dispose = registerIpc(ipcMain, service, {
    isTrustedSender: createSenderCheck({ files: [APP_URL] }),
  })
  return { ipcMain, service, dispose }
}

/** A transport that goes straight to the recording ipcMain, as the preload would. */
function transportTo(ipcMain: RecordingIpcMain, service: AppService): Transport {
  return {
    invoke: (channel, request) => ipcMain.invoke(channel, request),
    on: (event, listener) => service.events.onAny((name, payload) => name === event && listener(payload)),
  }
}

describe('IPC contract', () => {
  it('names every channel and event namespace:method', () => {
    for (const name of [...channelNames, ...eventNames]) {
      const [ns, method] = splitName(name)
      expect(ns, name).toMatch(/^[a-z][A-Za-z0-9]*$/)
      expect(method, name).toMatch(/^[a-z][A-Za-z0-9]*$/)
      expect(ns, name).not.toBe('on')
    }
  })

  it('registers exactly one main-side handler per channel', () => {
    const { ipcMain } = setup()
    expect([...ipcMain.handlers.keys()].sort()).toEqual([...channelNames].sort())
  })

  it('unregisters every handler', () => {
    const { ipcMain, dispose } = setup()
    dispose()
    expect(ipcMain.handlers.size).toBe(0)
    expect(ipcMain.removed.sort()).toEqual([...channelNames].sort())
  })

  it('gives the api a method for every channel, calling that channel', async () => {
    const calls: [string, unknown][] = []
    const api = createApi({
      invoke: async (channel, request) => {
        calls.push([channel, request])
        return { ok: true, value: null }
      },
      on: () => () => {},
    }) as unknown as Record<string, Record<string, (req?: unknown) => Promise<unknown>>>
    for (const channel of channelNames) {
      const [ns, method] = splitName(channel)
      expect(typeof api[ns]?.[method], channel).toBe('function')
      await api[ns]![method]!({ probe: channel })
      expect(calls.at(-1)).toEqual([channel, { probe: channel }])
    }
    expect(typeof (api as unknown as { on: unknown }).on).toBe('function')
  })

  it('round-trips through the real handlers and service', async () => {
    const { ipcMain, service } = setup()
    const api = createApi(transportTo(ipcMain, service))
    const info = await api.app.getInfo()
    expect(info.ok).toBe(true)
    if (!info.ok) return
    const ort = await import('onnxruntime-node')
    expect(info.value.versions.onnxruntime).toBe(ort.env.versions.node)
    expect(info.value.bundledModel).toEqual({ path: '/nonexistent/models/daam-shapes', exists: false })

    const heard = vi.fn()
    const off = api.on('app:menu', heard)
    service.events.emit('app:menu', { command: 'generate' })
    expect(heard).toHaveBeenCalledWith({ command: 'generate' })
    off()
    service.events.emit('app:menu', { command: 'save-all' })
    expect(heard).toHaveBeenCalledTimes(1)
  })

  it('answers an invalid payload with a typed error, without calling the service', async () => {
    const { ipcMain, service } = setup()
    const load = vi.spyOn(service, 'loadModel')
    const cases: unknown[] = [
      undefined,
      null,
      'dir',
      { dir: 42 },
      { dir: '' },
      { dir: '/models/sd15', extra: true },
      { dir: 'x'.repeat(4097) },
    ]
    for (const payload of cases) {
      const result = (await ipcMain.invoke('model:load', payload)) as Result<unknown>
      expect(result.ok, JSON.stringify(payload)).toBe(false)
      if (result.ok) continue
      expect(result.error.code).toBe('invalid-request')
      expect(result.error.message).toMatch(/^model:load: /)
    }
    const noArgs = (await ipcMain.invoke('app:getInfo', { unexpected: 1 })) as Result<unknown>
    expect(noArgs).toMatchObject({ ok: false, error: { code: 'invalid-request' } })
    expect(load).not.toHaveBeenCalled()
  })

  it('keeps invalid-request messages short whatever the payload held', async () => {
    const { ipcMain } = setup()
    const huge = 'k'.repeat(100_000)
    const cases: [string, unknown][] = [
      ['model:load', { dir: '/models/sd15', [huge]: 1 }],
      ['history:get', { id: huge }],
      ['generate:start', { params: { prompt: 'a', [huge]: 1, [`${huge}2`]: 2 } }],
      ['overlay:save', { id: '20261128-222025-123-abcdef', spec: { [huge]: huge } }],
    ]
    for (const [channel, payload] of cases) {
      const result = (await ipcMain.invoke(channel, payload)) as Result<unknown>
      expect(result).toMatchObject({ ok: false, error: { code: 'invalid-request' } })
      if (result.ok) continue
      expect(result.error.message.length, channel).toBeLessThanOrEqual(MAX_ERROR_MESSAGE_CHARS)
      expect(result.error.message).toMatch(new RegExp(`^${channel}: `))
      // still says what is wrong: the key, clipped
      if (channel !== 'history:get') expect(result.error.message).toMatch(/Unrecognized key.*kkkk…/)
    }
  })

  it('keeps refusals of unknown channels and foreign senders short too', async () => {
    const service = new AppService({ modelsDir: '/nonexistent/models' })
    const dispatch = createDispatcher(bindService(service), {
      isTrustedSender: createSenderCheck({ files: [APP_URL] }),
    })
    const huge = 'k'.repeat(100_000)
    const unknown = await dispatch(`app:${huge}`, undefined, { url: APP_URL, isMainFrame: true })
    expect(unknown).toMatchObject({ ok: false, error: { code: 'unknown-channel' } })
    const foreign = await dispatch('app:getInfo', undefined, { url: `data:text/html,${huge}`, isMainFrame: true })
    expect(foreign).toMatchObject({ ok: false, error: { code: 'forbidden-sender' } })
    for (const r of [unknown, foreign]) {
      expect(r.ok ? 0 : r.error.message.length).toBeLessThanOrEqual(MAX_ERROR_MESSAGE_CHARS)
      expect(r.ok ? '' : r.error.message).toMatch(/kkkk…/)
    }
  })

  it('refuses calls from any frame but the app page', async () => {
    const { ipcMain, service } = setup()
    const getInfo = vi.spyOn(service, 'getAppInfo')
    const foreign = [
      frameEvent('https://example.com/'),
      frameEvent('file:///tmp/evil.html'),
      frameEvent(APP_URL, { url: APP_URL }), // an iframe, even at the app URL
      { senderFrame: null },
    ]
    for (const event of foreign) {
      const result = (await ipcMain.invoke('app:getInfo', undefined, event)) as Result<unknown>
      expect(result).toMatchObject({ ok: false, error: { code: 'forbidden-sender' } })
    }
    expect(getInfo).not.toHaveBeenCalled()
    const fromApp = (await ipcMain.invoke('app:getInfo', undefined, frameEvent(`${APP_URL}#/route`))) as Result<unknown>
    expect(fromApp.ok).toBe(true)
  })

  it('maps service failures to error envelopes instead of throwing', async () => {
    const { ipcMain, service } = setup()
    vi.spyOn(service, 'getAppInfo').mockImplementation(() => {
      throw new Error('disk on fire')
    })
    const result = await ipcMain.invoke('app:getInfo', undefined)
    expect(result).toEqual({ ok: false, error: { code: 'internal', message: 'disk on fire' } })
  })

  it('turns transport failures into error results on the renderer side', async () => {
    const api = createApi({
      invoke: () => Promise.reject(new Error('render process gone')),
      on: () => () => {},
    })
    expect(await api.app.getInfo()).toEqual({
      ok: false,
      error: { code: 'transport', message: 'render process gone' },
    })
  })

  it('only subscribes to contract events', () => {
    const api = createApi({ invoke: async () => null, on: () => () => {} })
    expect(() => (api.on as (e: string, l: () => void) => void)('not:an-event', () => {})).toThrow(/Unknown event/)
  })

  it('forwards every service event to the transport', () => {
    const service = new AppService()
    const sent: [string, unknown][] = []
    const stop = forwardEvents(service.events, (event, payload) => sent.push([event, payload]))
    service.events.emit('app:menu', { command: 'open-model' })
    stop()
    service.events.emit('app:menu', { command: 'generate' })
    expect(sent).toEqual([['app:menu', { command: 'open-model' }]])
  })

  it('declares a zod schema for every request', () => {
    for (const channel of channelNames) {
      expect(typeof channels[channel].request.safeParse, channel).toBe('function')
    }
  })
})

describe('request schemas of the app channels', () => {
  const ok = (channel: keyof typeof channels, payload: unknown): boolean =>
    channels[channel].request.safeParse(payload).success
  const spec = {
    words: [{ label: 'hat', tokens: [6] }],
    stream: 'cond',
    mode: 'heatmap',
    colormap: 'jet',
    opacity: 0.5,
    tau: 0.4,
    normalization: 'word',
    filter: { resolutions: [16, 8], steps: { from: 0, to: 9 } },
  }
  const id = '20261128-222025-123-abcdef'

  it('generate:start takes generation params and nothing else', () => {
    expect(ok('generate:start', { params: { prompt: 'a red hat', steps: 20, seed: 1, width: 512, height: 512 } })).toBe(
      true,
    )
    expect(ok('generate:start', { params: { prompt: 'a red hat', steps: 0 } })).toBe(false)
    expect(ok('generate:start', { params: { prompt: 'a red hat', steps: 201 } })).toBe(false)
    expect(ok('generate:start', { params: { prompt: 'x'.repeat(4001) } })).toBe(false)
    expect(ok('generate:start', { params: { prompt: 'a', width: 1e6 } })).toBe(false)
    expect(ok('generate:start', { params: { prompt: 'a', scheduler: 'magic' } })).toBe(false)
    expect(ok('generate:start', { params: { prompt: 'a', unknown: 1 } })).toBe(false)
    expect(ok('generate:start', { params: { prompt: 'a' }, extra: true })).toBe(false)
  })

  it('overlay specs are bounded and strict', () => {
    expect(ok('overlay:save', { id, spec })).toBe(true)
    expect(ok('overlay:saveAll', { id, spec })).toBe(true)
    expect(ok('maps:export', { id, spec })).toBe(true)
    expect(ok('overlay:save', { id, spec: { ...spec, words: [] } })).toBe(false)
    expect(ok('overlay:save', { id, spec: { ...spec, opacity: 2 } })).toBe(false)
    expect(ok('overlay:save', { id, spec: { ...spec, colormap: 'rainbow' } })).toBe(false)
    expect(ok('overlay:save', { id, spec: { ...spec, filter: { bogus: [1] } } })).toBe(false)
    // issue 16: one layer (head) alone and the method are part of the spec, bounded
    expect(ok('overlay:save', { id, spec: { ...spec, method: 'refined', filter: { layers: [1], head: 0 } } })).toBe(
      true,
    )
    expect(ok('overlay:save', { id, spec: { ...spec, method: 'magic' } })).toBe(false)
    expect(ok('overlay:save', { id, spec: { ...spec, filter: { layers: [-1] } } })).toBe(false)
    expect(ok('overlay:save', { id: '../../etc/passwd', spec })).toBe(false)
  })

  it('model folders and history ids are bounded strings', () => {
    expect(ok('model:load', { dir: '/models/sd15' })).toBe(true)
    expect(ok('model:load', { dir: '' })).toBe(false)
    expect(ok('model:load', { dir: 'x'.repeat(5000) })).toBe(false)
    expect(ok('history:delete', { id })).toBe(true)
    expect(ok('history:delete', { id: 'a/b' })).toBe(false)
    expect(ok('model:current', undefined)).toBe(true)
  })
})
