import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { APP_ENTRY_URL } from './app-protocol'
import { isAllowedRequest } from './request-policy'

const prod = {}
const dev = { devServerOrigin: 'http://localhost:5173' }

/** URL-ish strings: any text, real URLs, and the schemes the policy treats specially with hostile tails. */
const urlish = fc.oneof(
  fc.string({ unit: 'binary' }),
  fc.webUrl({ withQueryParameters: true, withFragments: true }),
  fc
    .tuple(
      fc.constantFrom(
        'file://',
        'file:///',
        'file:',
        'app://',
        'app://renderer/',
        'blob:',
        'http://',
        'ws://',
        'data:',
      ),
      fc.string({ unit: 'binary' }),
    )
    .map(([a, b]) => a + b),
  fc
    .tuple(
      fc.constantFrom('file://', 'app://renderer/'),
      fc.array(fc.constantFrom('%2f', '%2e', '%00', '%', '..', '/', '\\', 'x', '%E0%A4%A'), { maxLength: 12 }),
    )
    .map(([a, parts]) => a + parts.join('')),
)

describe('request policy', () => {
  it('allows only the app origin, inline data and the dev server', () => {
    expect(isAllowedRequest(APP_ENTRY_URL, prod)).toBe(true)
    expect(isAllowedRequest('app://renderer/assets/index.js', prod)).toBe(true)
    expect(isAllowedRequest('data:image/png;base64,AAAA', prod)).toBe(true)
    expect(isAllowedRequest('blob:app://renderer/1234', prod)).toBe(true)
    expect(isAllowedRequest('http://localhost:5173/src/main.tsx', dev)).toBe(true)
    expect(isAllowedRequest('ws://localhost:5173/', dev)).toBe(true)
  })

  it('blocks remote content, other app hosts and every file:// URL', () => {
    expect(isAllowedRequest('https://cdn.example.com/x.js', prod)).toBe(false)
    expect(isAllowedRequest('http://localhost:5173/', prod)).toBe(false)
    expect(isAllowedRequest('https://localhost:5174/', dev)).toBe(false)
    expect(isAllowedRequest('app://evil/index.html', prod)).toBe(false)
    expect(isAllowedRequest('file:///etc/passwd', prod)).toBe(false)
    expect(isAllowedRequest('file:///app/out/renderer/index.html', prod)).toBe(false)
  })

  it('denies, never throws, on URLs that broke the file:// check (host, encoded slash)', () => {
    // These threw ERR_INVALID_FILE_URL_HOST / ERR_INVALID_FILE_URL_PATH before.
    for (const url of ['file://host/x', 'file:///a%2fb', 'file:///%00', 'file://[::1]/x']) {
      expect(isAllowedRequest(url, prod)).toBe(false)
    }
    expect(isAllowedRequest('http://localhost:5173/', { devServerOrigin: 'not a url' })).toBe(false)
  })

  it('answers a boolean for any string, and denies every file:// URL (property)', () => {
    fc.assert(
      fc.property(urlish, fc.boolean(), (url, inDev) => {
        const answer = isAllowedRequest(url, inDev ? dev : prod)
        expect(typeof answer).toBe('boolean')
        if (URL.canParse(url) && new URL(url).protocol === 'file:') expect(answer).toBe(false)
      }),
      { numRuns: 3000 },
    )
  })
})
