import { useMemo } from 'react'

function base64(bytes: Uint8Array): string {
  let s = ''
  // Chunks keep String.fromCharCode's argument list short.
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000))
  return btoa(s)
}

/**
 * A data: URL for small PNG bytes (thumbnails). Unlike blob: URLs it needs no revoking, so it is
 * safe under React's double-run effects; the page's CSP allows data: images.
 */
export function useDataUrl(bytes: Uint8Array | null | undefined, type = 'image/png'): string | null {
  return useMemo(() => (bytes ? `data:${type};base64,${base64(bytes)}` : null), [bytes, type])
}
