/**
 * Which URLs the app's sessions may load (Electron-free so it can be unit tested). Caller:
 * security.ts's `webRequest.onBeforeRequest` filter, for every request of every page.
 *
 * Allowed: the app's own origin (app://renderer, whose handler serves only files under the
 * renderer folder, see app-protocol.ts), inline data, blobs, devtools, and in development the
 * Vite dev server. Everything else, file:// included, is denied. Never throws: any URL string,
 * however malformed, gets an answer (property test in request-policy.test.ts).
 */
import { APP_HOST, APP_SCHEME } from './app-protocol'

export interface HardenOptions {
  /** Dev server origin (development only). */
  devServerOrigin?: string
}

export function isAllowedRequest(url: string, options: HardenOptions): boolean {
  try {
    return allowed(url, options)
  } catch {
    // Deny what we cannot judge: a filter that throws would leave Electron's callback unanswered.
    return false
  }
}

function allowed(url: string, options: HardenOptions): boolean {
  if (typeof url !== 'string' || !URL.canParse(url)) return false
  const parsed = new URL(url)
  switch (parsed.protocol) {
    case 'data:':
    case 'blob:':
    case 'devtools:':
      return true
    case `${APP_SCHEME}:`:
      return parsed.host === APP_HOST
    case 'http:':
    case 'https:':
    case 'ws:': {
      if (!options.devServerOrigin || !URL.canParse(options.devServerOrigin)) return false
      return parsed.host === new URL(options.devServerOrigin).host
    }
    default:
      return false
  }
}
