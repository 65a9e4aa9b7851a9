import { describe, expect, it } from 'vitest'
import { createSenderCheck } from './trust'

describe('sender check', () => {
  const check = createSenderCheck({
    origins: ['http://127.0.0.1:5173/', 'app://renderer'],
    files: ['file:///app/out/renderer/index.html'],
  })
  const main = (url: string | undefined) => check({ url, isMainFrame: true })

  it('accepts the app page and the dev server', () => {
    expect(main('file:///app/out/renderer/index.html')).toBe(true)
    expect(main('file:///app/out/renderer/index.html?x=1#y')).toBe(true)
    expect(main('http://127.0.0.1:5173/index.html')).toBe(true)
    expect(main('app://renderer/index.html')).toBe(true)
    expect(main('app://renderer/index.html?x=1#y')).toBe(true)
  })

  it('refuses everything else', () => {
    expect(main('file:///app/out/renderer/other.html')).toBe(false)
    expect(main('http://127.0.0.1:5174/')).toBe(false)
    expect(main('http://localhost:5173/')).toBe(false)
    expect(main('https://evil.example/')).toBe(false)
    expect(main('about:blank')).toBe(false)
    expect(main('app://evil/index.html')).toBe(false)
    expect(main('app:///index.html')).toBe(false)
    expect(main('app:renderer/index.html')).toBe(false)
    expect(check({ url: 'app://renderer/index.html', isMainFrame: false })).toBe(false)
    expect(main('not a url')).toBe(false)
    expect(main(undefined)).toBe(false)
    expect(check({ url: 'file:///app/out/renderer/index.html', isMainFrame: false })).toBe(false)
  })
})
