import { useEffect, useState } from 'react'

/** A blob: URL for PNG bytes, revoked when the bytes change or the component goes away. */
export function useObjectUrl(bytes: Uint8Array | null | undefined, type = 'image/png'): string | null {
  const [url, setUrl] = useState<string | null>(null)
  useEffect(() => {
    if (!bytes) return setUrl(null)
    const u = URL.createObjectURL(new Blob([bytes as Uint8Array<ArrayBuffer>], { type }))
    setUrl(u)
    return () => URL.revokeObjectURL(u)
  }, [bytes, type])
  return url
}
