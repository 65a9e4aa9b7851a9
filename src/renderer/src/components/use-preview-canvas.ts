import { useEffect, useRef } from 'react'
import type { ProgressEvent } from '../../../shared/ipc/payloads'

/** Draws the live preview (RGB bytes at latent size) into the returned canvas ref. */
export function usePreviewCanvas(preview: ProgressEvent['preview']): React.RefObject<HTMLCanvasElement | null> {
  const canvas = useRef<HTMLCanvasElement>(null)
  useEffect(() => {
    const c = canvas.current
    if (!c || !preview) return
    c.width = preview.width
    c.height = preview.height
    const img = new ImageData(preview.width, preview.height)
    for (let i = 0, j = 0; i < preview.width * preview.height; i++, j += 3) {
      img.data[i * 4] = preview.rgb[j]!
      img.data[i * 4 + 1] = preview.rgb[j + 1]!
      img.data[i * 4 + 2] = preview.rgb[j + 2]!
      img.data[i * 4 + 3] = 255
    }
    c.getContext('2d')?.putImageData(img, 0, 0)
  }, [preview])
  return canvas
}
