import { describe, expect, it } from 'vitest'
import { createSenderCheck } from '../src/main/ipc/trust'
import { isAllowedRequest } from '../src/main/requestPolicy'

describe('sender check', () => {
  const check = createSenderCheck({
    origins: ['http://127.0.0.1:5173/'],
    files: ['file:///app/out/renderer/index.html'],
  })
  const main = (url: string | undefined) => check({ url, isMainFrame: true })

  it('accepts the app page and the dev server', () => {
    expect(main('file:///app/out/renderer/index.html')).toBe(true)
    expect(main('file:///app/out/renderer/index.html?x=1#y')).toBe(true)
    expect(main('http://127.0.0.1:5173/index.html')).toBe(true)
  })

  it('refuses everything else', () => {
    expect(main('file:///app/out/renderer/other.html')).toBe(false)
    expect(main('http://127.0.0.1:5174/')).toBe(false)
    expect(main('http://localhost:5173/')).toBe(false)
    expect(main('https://evil.example/')).toBe(false)
    expect(main('about:blank')).toBe(false)
    expect(main('not a url')).toBe(false)
    expect(main(undefined)).toBe(false)
    expect(check({ url: 'file:///app/out/renderer/index.html', isMainFrame: false })).toBe(false)
  })
})

describe('request policy', () => {
  const prod = { rendererDir: '/app/out/renderer' }
  const dev = { ...prod, devServerOrigin: 'http://localhost:5173' }

  it('allows only app files, inline data and the dev server', () => {
    expect(isAllowedRequest('file:///app/out/renderer/index.html', prod)).toBe(true)
    expect(isAllowedRequest('file:///app/out/renderer/assets/index.js', prod)).toBe(true)
    expect(isAllowedRequest('data:image/png;base64,AAAA', prod)).toBe(true)
    expect(isAllowedRequest('blob:file:///1234', prod)).toBe(true)
    expect(isAllowedRequest('http://localhost:5173/src/main.tsx', dev)).toBe(true)
    expect(isAllowedRequest('ws://localhost:5173/', dev)).toBe(true)
  })

  it('blocks remote content and files outside the renderer', () => {
    expect(isAllowedRequest('https://cdn.example.com/x.js', prod)).toBe(false)
    expect(isAllowedRequest('http://localhost:5173/', prod)).toBe(false)
    expect(isAllowedRequest('https://localhost:5174/', dev)).toBe(false)
    expect(isAllowedRequest('file:///etc/passwd', prod)).toBe(false)
    expect(isAllowedRequest('file:///app/out/renderer/../main/index.js', prod)).toBe(false)
    expect(isAllowedRequest('file:///app/out/renderer-evil/x.js', prod)).toBe(false)
  })
})
