/**
 * Serves a folder (the built renderer) on 127.0.0.1 at a random port, with the app's own
 * app:// resolution and headers (src/main/app-protocol.ts: no traversal, the CSP as a header).
 */
import fs from 'node:fs'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import path from 'node:path'
import { APP_ORIGIN, appResponseHeaders, resolveAppRequest } from '../../src/main/app-protocol'

export interface StaticServer {
  origin: string
  close(): Promise<void>
}

export async function serveStatic(root: string): Promise<StaticServer> {
  const base = path.resolve(root)
  const server = http.createServer((req, res) => {
    const r = resolveAppRequest(APP_ORIGIN + new URL(req.url ?? '/', 'http://x').pathname, base)
    if (!r.ok || !fs.existsSync(r.file) || !fs.statSync(r.file).isFile()) {
      res.writeHead(r.ok ? 404 : r.status).end('not found')
      return
    }
    const file = r.file
    res.writeHead(200, appResponseHeaders(file))
    fs.createReadStream(file).pipe(res)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    origin: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
