/**
 * A canvas with an image and, when given, a heat map over it drawn by the one composer
 * (overlayHeatmap, as the main canvas and saved files): the knock-out panels' original and change
 * map (KnockoutPanel) and the compare view's two images (ComparePanel).
 */
import { useEffect, useRef } from 'react'
import { colormapLut, type ColormapName } from '../../../shared/colormaps'
import { imageRgba, overlayHeatmap, type ImageBytes } from '../../../shared/heatmap/compose'

export function HeatmapCanvas({
  image,
  map = null,
  colormap,
  opacity = 0.5,
  testId,
}: {
  image: ImageBytes
  /** Floats in [0, 1] or colour-map bytes, one per pixel; null shows the image alone. */
  map?: Float32Array | Uint8ClampedArray | null
  colormap?: ColormapName
  opacity?: number
  testId?: string
}): React.JSX.Element {
  const ref = useRef<HTMLCanvasElement>(null)
  useEffect(() => {
    const ctx = ref.current?.getContext('2d')
    if (!ctx) return
    const rgba = map && colormap ? overlayHeatmap(image, map, colormapLut(colormap), opacity) : imageRgba(image)
    ctx.putImageData(new ImageData(new Uint8ClampedArray(rgba), image.width, image.height), 0, 0)
  }, [image, map, colormap, opacity])
  return <canvas ref={ref} width={image.width} height={image.height} data-testid={testId} />
}
