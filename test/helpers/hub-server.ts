/**
 * A Hugging Face Hub look-alike on loopback, for the model-library tests (src/main/library/*.test.ts,
 * scripts/models.test.ts) and the Models e2e (e2e/models.spec.ts). No internet exists in CI, so the
 * library's real client (@huggingface/hub) talks to this real HTTP server instead.
 *
 * It serves, from folders laid out as Hub repositories, the routes @huggingface/hub 2.17 calls:
 *   GET /api/models/{owner}/{name}/revision/{rev}        modelInfo (sha, gated, siblings)
 *   GET /api/models/{owner}/{name}/tree/{rev}[/{path}]   listFiles (size, oid, lfs.oid/size)
 *   GET /{owner}/{name}/resolve/{rev}/{path}             fileDownloadInfo / downloadFile
 * with the Hub's behaviour: small files are answered directly with their git blob sha1 as ETag;
 * LFS files (*.onnx, *.bin, ...) get a 302 to a separate "CDN" server (another port, so another
 * origin, like cdn-lfs.hf.co) that serves the bytes with the sha256 as ETag, and X-Linked-Etag /
 * X-Linked-Size / X-Repo-Commit on the redirect. Range requests answer 206 with Content-Range.
 * Errors carry X-Error-Code (RepositoryNotFound, GatedRepo, EntryNotFound, RevisionNotFound); a
 * missing repo is 401 without a token and 404 with one, as on the Hub.
 *
 * Fault switches for the tests: drop the connection part-way through a file, serve corrupted
 * bytes (the listing keeps the true hash), a gated repo (401 without the right token, 403 with a
 * wrong one), a throttle so progress can be watched. Every request is logged with whether it
 * carried an Authorization header, to check the token only goes to the Hub host.
 */
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import http from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import path from 'node:path'

export interface HubRepoSpec {
  /** Folder whose files make up the repository (walked recursively). */
  dir: string
  /** Extra files (repo path → bytes) added to the repo, e.g. PyTorch weights the library must skip. */
  extraFiles?: Record<string, Uint8Array | string>
  /** Repo paths of `dir` left out of the repo. */
  omit?: string[]
  /** Revision names (branches) that resolve to this repo's commit; `main` always does. */
  branches?: string[]
  /**
   * Only this token may download the repo's files (Hub "gated" repos): 401 without a token, 403
   * with another. As on the Hub, the metadata routes (info, tree) stay public and say `gated`.
   */
  gatedToken?: string
}

export interface HubFaults {
  /** repo path → drop the connection after this many bytes of the body, once per entry. */
  dropAfter?: Map<string, number>
  /** repo paths served with one byte changed (the tree listing keeps the true hash). */
  corrupt?: Set<string>
  /** Bytes per second for LFS bodies (0 or unset: as fast as possible). */
  throttleBytesPerSecond?: number
}

export interface HubRequestLog {
  server: 'hub' | 'cdn'
  method: string
  url: string
  authorization: boolean
  range?: string
}

interface RepoFile {
  path: string
  bytes: Buffer
  sha256: string
  gitOid: string
  lfs: boolean
}

interface Repo {
  id: string
  commit: string
  branches: Set<string>
  files: Map<string, RepoFile>
  gatedToken?: string
}

export interface HubServer {
  /** Endpoint to give the library (http://127.0.0.1:PORT). */
  url: string
  cdnUrl: string
  requests: HubRequestLog[]
  faults: HubFaults
  /** Commit sha of a repo. */
  commit(repoId: string): string
  /** Sum of the sizes of the given repo paths (all files when omitted). */
  size(repoId: string, paths?: string[]): number
  close(): Promise<void>
}

const LFS_PATTERN = /\.(onnx|onnx_data|pb|bin|safetensors|ckpt|msgpack|h5)$/

function walk(dir: string, base = ''): string[] {
  const out: string[] = []
  for (const entry of fs.readdirSync(path.join(dir, base), { withFileTypes: true })) {
    const rel = base ? `${base}/${entry.name}` : entry.name
    if (entry.isDirectory()) out.push(...walk(dir, rel))
    else if (entry.isFile()) out.push(rel)
  }
  return out.sort()
}

function repoFile(p: string, bytes: Buffer): RepoFile {
  const gitOid = createHash('sha1').update(`blob ${bytes.length}\0`).update(bytes).digest('hex')
  return {
    path: p,
    bytes,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    gitOid,
    lfs: LFS_PATTERN.test(p),
  }
}

function buildRepo(id: string, spec: HubRepoSpec): Repo {
  const files = new Map<string, RepoFile>()
  const omit = new Set(spec.omit ?? [])
  for (const rel of walk(spec.dir)) {
    if (!omit.has(rel)) files.set(rel, repoFile(rel, fs.readFileSync(path.join(spec.dir, rel))))
  }
  for (const [rel, data] of Object.entries(spec.extraFiles ?? {})) files.set(rel, repoFile(rel, Buffer.from(data)))
  const commit = createHash('sha1')
    .update(id)
    .update([...files.values()].map((f) => f.gitOid).join())
    .digest('hex')
  return { id, commit, branches: new Set(['main', ...(spec.branches ?? [])]), files, gatedToken: spec.gatedToken }
}

function sendJson(res: http.ServerResponse, status: number, body: unknown, headers: http.OutgoingHttpHeaders = {}) {
  const text = JSON.stringify(body)
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', ...headers })
  res.end(text)
}

function hubError(res: http.ServerResponse, status: number, code: string, message: string): void {
  sendJson(res, status, { error: message }, { 'X-Error-Code': code, 'X-Error-Message': message })
}

function parseRange(header: string | undefined, size: number): [number, number] | null {
  const m = header ? /^bytes=(\d+)-(\d*)$/.exec(header) : null
  if (!m) return null
  const start = Number(m[1])
  const end = m[2] ? Math.min(Number(m[2]), size - 1) : size - 1
  return start <= end ? [start, end] : null
}

/** Starts the Hub and its CDN on 127.0.0.1 (random ports) serving `repos` (id "owner/name" → spec). */
export async function startHubServer(repos: Record<string, HubRepoSpec>): Promise<HubServer> {
  const table = new Map(Object.entries(repos).map(([id, spec]) => [id, buildRepo(id, spec)]))
  const requests: HubRequestLog[] = []
  const faults: HubFaults = { dropAfter: new Map(), corrupt: new Set() }
  const sockets = new Set<Socket>()

  const log = (server: 'hub' | 'cdn', req: http.IncomingMessage): void => {
    requests.push({
      server,
      method: req.method ?? 'GET',
      url: req.url ?? '',
      authorization: !!req.headers.authorization,
      range: req.headers.range,
    })
  }

  /** Resolves a repo and checks access the way the Hub does; answers the error itself. */
  const access = (req: http.IncomingMessage, res: http.ServerResponse, id: string, files: boolean): Repo | null => {
    const repo = table.get(id)
    if (!repo) {
      // the Hub answers 401 to anonymous callers (it will not say whether a private repo exists)
      hubError(res, req.headers.authorization ? 404 : 401, 'RepositoryNotFound', 'Repository not found')
      return null
    }
    if (repo.gatedToken && files) {
      const auth = req.headers.authorization
      if (!auth) {
        hubError(
          res,
          401,
          'GatedRepo',
          `Access to model ${id} is restricted. You must have access to it and be authenticated to access it. Please log in.`,
        )
        return null
      }
      if (auth !== `Bearer ${repo.gatedToken}`) {
        hubError(
          res,
          403,
          'GatedRepo',
          `Access to model ${id} is restricted and you are not in the authorized list. Visit https://huggingface.co/${id} to ask for access.`,
        )
        return null
      }
    }
    return repo
  }

  const revisionOk = (repo: Repo, rev: string): boolean =>
    repo.branches.has(rev) || rev === repo.commit || rev === 'HEAD'

  const body = (file: RepoFile): Buffer => {
    if (!faults.corrupt?.has(file.path)) return file.bytes
    const copy = Buffer.from(file.bytes)
    copy[Math.floor(copy.length / 2)] ^= 0xff
    return copy
  }

  /** Writes `bytes[start..end]` honouring the drop and throttle switches. */
  const stream = async (res: http.ServerResponse, file: RepoFile, start: number, end: number): Promise<void> => {
    const data = body(file).subarray(start, end + 1)
    const drop = faults.dropAfter?.get(file.path)
    const limit = drop !== undefined && drop > start && drop < end + 1 ? drop - start : -1
    if (limit >= 0) faults.dropAfter!.delete(file.path)
    const rate = faults.throttleBytesPerSecond ?? 0
    const chunk = rate > 0 ? Math.max(1024, Math.floor(rate / 20)) : 256 * 1024
    for (let off = 0; off < data.length; off += chunk) {
      if (res.destroyed) return
      let piece = data.subarray(off, off + chunk)
      if (limit >= 0 && off + piece.length >= limit) {
        piece = piece.subarray(0, limit - off)
        await new Promise<void>((r) => res.write(piece, () => r()))
        res.socket?.destroy()
        return
      }
      if (!res.write(piece)) await new Promise((r) => res.once('drain', r))
      if (rate > 0) await new Promise((r) => setTimeout(r, (piece.length / rate) * 1000))
    }
    res.end()
  }

  const serveBytes = (
    req: http.IncomingMessage,
    res: http.ServerResponse,
    file: RepoFile,
    headers: http.OutgoingHttpHeaders,
  ): void => {
    const size = file.bytes.length
    const range = parseRange(req.headers.range, size)
    if (req.headers.range && !range) {
      res.writeHead(416, { 'Content-Range': `bytes */${size}` })
      res.end()
      return
    }
    const [start, end] = range ?? [0, size - 1]
    res.writeHead(range ? 206 : 200, {
      'Content-Type': 'application/octet-stream',
      'Accept-Ranges': 'bytes',
      'Content-Length': String(end - start + 1),
      ...(range ? { 'Content-Range': `bytes ${start}-${end}/${size}` } : {}),
      ...headers,
    })
    if (req.method === 'HEAD') {
      res.end()
      return
    }
    void stream(res, file, start, end)
  }

  const cdn = http.createServer((req, res) => {
    log('cdn', req)
    // /lfs/{repo id}/{sha256}
    const m = /^\/lfs\/([^/]+\/[^/]+)\/([0-9a-f]{64})$/.exec(new URL(req.url ?? '/', 'http://x').pathname)
    const repo = m ? table.get(decodeURIComponent(m[1])) : undefined
    const file = repo && [...repo.files.values()].find((f) => f.sha256 === m![2])
    if (!file) return hubError(res, 404, 'EntryNotFound', 'Not found')
    serveBytes(req, res, file, { ETag: `"${file.sha256}"` })
  })

  const hub = http.createServer((req, res) => {
    log('hub', req)
    const url = new URL(req.url ?? '/', 'http://x')
    const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent)
    if (parts[0] === 'api' && parts[1] === 'models' && parts.length >= 6) {
      const id = `${parts[2]}/${parts[3]}`
      const repo = access(req, res, id, false)
      if (!repo) return
      const rev = parts[5]
      if (!revisionOk(repo, rev)) return hubError(res, 404, 'RevisionNotFound', `Invalid rev id: ${rev}`)
      if (parts[4] === 'revision') {
        return sendJson(res, 200, {
          _id: `id-${repo.commit.slice(0, 24)}`,
          id,
          sha: repo.commit,
          private: false,
          gated: repo.gatedToken ? 'manual' : false,
          downloads: 0,
          likes: 0,
          lastModified: '2026-01-01T00:00:00.000Z',
          pipeline_tag: 'text-to-image',
          siblings: [...repo.files.keys()].map((rfilename) => ({ rfilename })),
        })
      }
      if (parts[4] === 'tree') {
        const prefix = parts.slice(6).join('/')
        const recursive = url.searchParams.get('recursive') === 'true'
        const under = [...repo.files.values()].filter((f) => !prefix || f.path.startsWith(`${prefix}/`))
        const entries: unknown[] = []
        const dirs = new Set<string>()
        for (const f of under) {
          const rest = prefix ? f.path.slice(prefix.length + 1) : f.path
          const segs = rest.split('/')
          for (let i = 1; i < segs.length; i++) {
            if (!recursive && i > 1) break
            const d = [prefix, ...segs.slice(0, i)].filter(Boolean).join('/')
            if (!dirs.has(d)) {
              dirs.add(d)
              entries.push({ type: 'directory', oid: createHash('sha1').update(d).digest('hex'), size: 0, path: d })
            }
          }
          if (!recursive && segs.length > 1) continue
          entries.push({
            type: 'file',
            oid: f.gitOid,
            size: f.bytes.length,
            path: f.path,
            ...(f.lfs ? { lfs: { oid: f.sha256, size: f.bytes.length, pointerSize: 134 } } : {}),
          })
        }
        if (prefix && under.length === 0) return hubError(res, 404, 'EntryNotFound', `${prefix} does not exist`)
        return sendJson(res, 200, entries)
      }
    }
    if (parts.length >= 5 && parts[2] === 'resolve') {
      const id = `${parts[0]}/${parts[1]}`
      const repo = access(req, res, id, true)
      if (!repo) return
      const rev = parts[3]
      if (!revisionOk(repo, rev)) return hubError(res, 404, 'RevisionNotFound', `Invalid rev id: ${rev}`)
      const file = repo.files.get(parts.slice(4).join('/'))
      if (!file) return hubError(res, 404, 'EntryNotFound', 'Entry not found')
      const common = { 'X-Repo-Commit': repo.commit }
      if (file.lfs) {
        res.writeHead(302, {
          Location: `${cdnUrl}/lfs/${id}/${file.sha256}`,
          'X-Linked-Etag': `"${file.sha256}"`,
          'X-Linked-Size': String(file.bytes.length),
          ETag: `"${file.sha256}"`,
          ...common,
        })
        res.end()
        return
      }
      return serveBytes(req, res, file, { ETag: `"${file.gitOid}"`, ...common })
    }
    hubError(res, 404, 'NotFound', `No route for ${url.pathname}`)
  })

  for (const s of [hub, cdn])
    s.on('connection', (socket) => (sockets.add(socket), socket.on('close', () => sockets.delete(socket))))
  const listen = (s: http.Server): Promise<string> =>
    new Promise((resolve) =>
      s.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(s.address() as AddressInfo).port}`)),
    )
  const url = await listen(hub)
  const cdnUrl = await listen(cdn)

  return {
    url,
    cdnUrl,
    requests,
    faults,
    commit: (id) => table.get(id)!.commit,
    size: (id, paths) => {
      const files = table.get(id)!.files
      return (paths ?? [...files.keys()]).reduce((sum, p) => sum + (files.get(p)?.bytes.length ?? 0), 0)
    },
    close: async () => {
      for (const s of sockets) s.destroy()
      await Promise.all([hub, cdn].map((s) => new Promise((r) => s.close(r))))
    },
  }
}
