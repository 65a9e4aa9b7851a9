/**
 * The model library's only way to the Hugging Face Hub: @huggingface/hub's modelInfo, listFiles,
 * fileDownloadInfo and downloadFile, pointed at the configured endpoint, with one fetch wrapper
 * that (a) aborts with the download's signal, (b) follows redirects itself and drops the token
 * on any hop that leaves the Hub's origin (LFS files redirect to a CDN), and (c) keeps the Hub's
 * X-Error-Code so failures become clear sentences (gated, not found, ...).
 * Callers: downloads.ts (file bytes) and library-service.ts (repo listing).
 */
import { downloadFile, fileDownloadInfo, HubApiError, listFiles, modelInfo, type ListFileEntry } from '@huggingface/hub'
import { AppError } from '../../shared/ipc/result'

export const DEFAULT_HUB_ENDPOINT = 'https://huggingface.co'
const MAX_REDIRECTS = 5

export interface HubFile {
  path: string
  size: number
  /** sha256 of the content for LFS files. */
  sha256?: string
  /** git blob sha1 (the Hub's oid) for small files. */
  gitOid?: string
}

export interface RepoListing {
  commit: string
  /** The repo asks users to accept conditions before its files can be downloaded. */
  gated: boolean
  files: HubFile[]
}

/** The message for a gated repository: how to get access and where the token goes. */
export function gatedError(repo: string, endpoint: string, hasToken: boolean): AppError {
  return new AppError(
    'gated',
    `${repo} is a gated repository: ${hasToken ? 'your Hugging Face token has not been granted access' : 'it needs a Hugging Face token'}. ` +
      `Open ${endpoint}/${repo} in a browser, accept its conditions (log in, "Agree and access"), then create a ` +
      `read token at ${endpoint}/settings/tokens and enter it under Hub token in the Models panel's settings.`,
  )
}

/** What failed, in words a person can act on. Codes: gated, not-found, hub-error, network. */
export function describeHubError(error: unknown, repo: string, endpoint: string, hasToken: boolean): AppError {
  if (error instanceof AppError) return error
  if (error instanceof HubApiError) {
    const code = (error as HubApiError & { errorCode?: string }).errorCode
    if (
      code === 'GatedRepo' ||
      error.statusCode === 403 ||
      (error.statusCode === 401 && code !== 'RepositoryNotFound')
    ) {
      return gatedError(repo, endpoint, hasToken)
    }
    if (code === 'RevisionNotFound')
      return new AppError('not-found', `${repo} has no revision by that name on ${endpoint}.`)
    if (code === 'EntryNotFound') return new AppError('not-found', `A file of ${repo} is missing on ${endpoint}.`)
    if (error.statusCode === 404 || code === 'RepositoryNotFound') {
      return new AppError(
        'not-found',
        `${repo} was not found on ${endpoint}. Check the spelling (owner/name); a private repository also needs a token.`,
      )
    }
    return new AppError('hub-error', `The Hub answered ${error.statusCode} for ${repo}: ${error.message}`)
  }
  const e = error as { name?: string; message?: string; cause?: { code?: string; message?: string } }
  if (e?.name === 'AbortError') return new AppError('cancelled', 'Stopped.')
  const detail = e?.cause?.code ?? e?.cause?.message ?? e?.message ?? String(error)
  return new AppError(
    'network',
    `Could not reach ${endpoint} (${detail}). Check the connection or the Hub endpoint setting.`,
  )
}

export class HubClient {
  private readonly origin: string
  /** X-Error-Code of failed responses, by URL, until rethrow reads it. */
  private readonly errorCodes = new Map<string, string>()

  constructor(
    readonly endpoint: string,
    private readonly token: string | null,
  ) {
    this.origin = new URL(endpoint).origin
  }

  get hasToken(): boolean {
    return !!this.token
  }

  /** fetch for @huggingface/hub: abortable, token only to the Hub's origin, X-Error-Code kept. */
  fetchFor(signal?: AbortSignal): typeof fetch {
    return async (input, init) => {
      let url = new URL(typeof input === 'string' || input instanceof URL ? input : input.url)
      const headers = new Headers(init?.headers)
      for (let hop = 0; ; hop++) {
        if (url.origin !== this.origin) headers.delete('authorization')
        const response = await fetch(url, { ...init, headers, signal, redirect: 'manual' })
        const location = response.headers.get('location')
        if (response.status >= 300 && response.status < 400 && location) {
          if (hop >= MAX_REDIRECTS) throw new Error(`too many redirects from ${url.origin}`)
          await response.body?.cancel()
          url = new URL(location, url)
          continue
        }
        if (!response.ok && response.headers.get('x-error-code')) {
          // createApiError reads the body; remember the Hub's code for describeHubError
          this.errorCodes.set(url.href, response.headers.get('x-error-code')!)
        }
        return response
      }
    }
  }

  private credentials(): { accessToken?: string } {
    return this.token ? { accessToken: this.token } : {}
  }

  private rethrow(error: unknown, repo: string): never {
    if (error instanceof HubApiError) {
      const code = this.errorCodes.get(error.url)
      if (code) Object.assign(error, { errorCode: code })
      this.errorCodes.delete(error.url)
    }
    throw describeHubError(error, repo, this.endpoint, this.hasToken)
  }

  /** The commit `revision` points at, and every file of the repo at that commit. */
  async listRepo(repo: string, revision: string, signal?: AbortSignal): Promise<RepoListing> {
    const common = { hubUrl: this.endpoint, fetch: this.fetchFor(signal), ...this.credentials() }
    try {
      const info = await modelInfo({ name: repo, revision, additionalFields: ['sha'], ...common })
      const commit = info.sha
      const files: HubFile[] = []
      for await (const entry of listFiles({ repo, revision: commit, recursive: true, ...common })) {
        if (entry.type === 'file') files.push(toHubFile(entry))
      }
      return { commit, gated: info.gated !== false && info.gated !== undefined, files }
    } catch (error) {
      this.rethrow(error, repo)
    }
  }

  /**
   * The bytes of `path` at `commit` from byte `offset` on, as a stream. The Hub's resolve route
   * answers the size and etag; the body comes by an HTTP range request (resume).
   */
  async openFile(
    repo: string,
    commit: string,
    path: string,
    offset: number,
    signal: AbortSignal,
  ): Promise<{ size: number; etag: string; stream: ReadableStream<Uint8Array> }> {
    const common = {
      repo,
      revision: commit,
      path,
      hubUrl: this.endpoint,
      fetch: this.fetchFor(signal),
      ...this.credentials(),
    }
    try {
      const info = await fileDownloadInfo(common)
      if (!info) throw new AppError('not-found', `${path} is missing from ${repo} at ${commit.slice(0, 8)}.`)
      const blob = await downloadFile({ ...common, downloadInfo: info, xet: false })
      if (!blob) throw new AppError('not-found', `${path} is missing from ${repo} at ${commit.slice(0, 8)}.`)
      const part = offset > 0 ? blob.slice(offset, info.size) : blob
      return { size: info.size, etag: info.etag, stream: part.stream() as ReadableStream<Uint8Array> }
    } catch (error) {
      this.rethrow(error, repo)
    }
  }
}

function toHubFile(entry: ListFileEntry): HubFile {
  return {
    path: entry.path,
    size: entry.lfs?.size ?? entry.size,
    sha256: entry.lfs?.oid,
    gitOid: entry.lfs ? undefined : entry.oid,
  }
}
