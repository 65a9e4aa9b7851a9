import { readFileSync } from 'node:fs'
import path from 'node:path'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { APP_ENTRY_URL, appResponseHeaders, CONTENT_SECURITY_POLICY, resolveAppRequest } from './app-protocol'

const root = path.resolve('/app/out/renderer')

describe('app:// request resolution', () => {
  it('maps app://renderer paths to files under the renderer folder', () => {
    expect(resolveAppRequest(APP_ENTRY_URL, root)).toEqual({ ok: true, file: path.join(root, 'index.html') })
    expect(resolveAppRequest('app://renderer/', root)).toEqual({ ok: true, file: path.join(root, 'index.html') })
    expect(resolveAppRequest('app://renderer/assets/index-x1.js?v=1#h', root)).toEqual({
      ok: true,
      file: path.join(root, 'assets', 'index-x1.js'),
    })
    expect(resolveAppRequest('app://renderer/a%20b.png', root)).toEqual({ ok: true, file: path.join(root, 'a b.png') })
  })

  it('refuses traversal, other hosts and schemes, and malformed paths', () => {
    const refused = (url: string) => {
      const r = resolveAppRequest(url, root)
      return r.ok ? 'served' : r.status
    }
    expect(refused('app://renderer/..%2f..%2fmain/index.js')).toBe(403)
    // URL parsing already folds a leading (encoded) '..' into the root: it stays inside
    expect(resolveAppRequest('app://renderer/%2e%2e/main/index.js', root)).toEqual({
      ok: true,
      file: path.join(root, 'main', 'index.js'),
    })
    expect(refused('app://renderer/..%5cmain%5cindex.js')).toBe(403)
    expect(refused('app://renderer/%2fetc%2fpasswd')).toBe('served') // a file named /etc/passwd under root: stays under root
    expect(refused('app://renderer/%E0%A4%A')).toBe(400)
    expect(refused('app://renderer/x%00.js')).toBe(400)
    expect(refused('app://evil/index.html')).toBe(404)
    expect(refused('file:///app/out/renderer/index.html')).toBe(404)
    expect(refused('not a url')).toBe(400)
  })

  it('never resolves outside the renderer folder, whatever the path (property)', () => {
    const segment = fc.oneof(
      fc.constantFrom('..', '.', '%2e%2e', '%2E%2e', '..%2f', '%2f', '%5c', '\\', '%00', '%', 'a', 'index.html', '~'),
      fc.string({ unit: 'binary', maxLength: 6 }),
    )
    fc.assert(
      fc.property(fc.array(segment, { maxLength: 10 }), (parts) => {
        const r = resolveAppRequest('app://renderer/' + parts.join('/'), root)
        if (r.ok) expect(r.file.startsWith(root + path.sep)).toBe(true)
      }),
      { numRuns: 3000 },
    )
  })
})

describe('app:// response headers', () => {
  it('send the CSP, the content type and nosniff', () => {
    const h = appResponseHeaders(path.join(root, 'assets', 'index.js'))
    expect(h['Content-Security-Policy']).toBe(CONTENT_SECURITY_POLICY)
    expect(h['Content-Type']).toBe('text/javascript; charset=utf-8')
    expect(h['X-Content-Type-Options']).toBe('nosniff')
    expect(appResponseHeaders('x.HTML')['Content-Type']).toBe('text/html; charset=utf-8')
    expect(appResponseHeaders('x.unknown')['Content-Type']).toBe('application/octet-stream')
  })

  it('is strict: no remote sources, no inline script, no eval', () => {
    expect(CONTENT_SECURITY_POLICY).toContain("script-src 'self'")
    expect(CONTENT_SECURITY_POLICY).not.toMatch(/unsafe-inline|unsafe-eval|https?:|\*/)
  })

  it("is the policy of the renderer's meta tag, word for word", () => {
    const html = readFileSync(path.resolve(__dirname, '../renderer/index.html'), 'utf8')
    const meta = /<meta\s+http-equiv="Content-Security-Policy"\s+content="([^"]*)"/.exec(html)
    expect(meta?.[1]).toBe(CONTENT_SECURITY_POLICY)
  })
})
