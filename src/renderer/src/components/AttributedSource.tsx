/**
 * What an attributed image came from (App shows it under the image for such entries): the source
 * picture, small, with the part the model saw outlined (the centre crop to the model's aspect),
 * its name and size, and the noise settings used.
 */
import type { GenerationPayload } from '../../../shared/ipc/payloads'
import { useDataUrl } from './use-data-url'

export function AttributedSource({ payload }: { payload: GenerationPayload }): React.JSX.Element | null {
  const url = useDataUrl(payload.sourcePng)
  const info = payload.attributed
  if (!info) return null
  const { source, crop } = info
  const pct = (v: number, of: number): string => `${((v / of) * 100).toFixed(2)}%`
  return (
    <div className="attributed-source" data-testid="attributed-source">
      {url && (
        <span className="source-frame" style={{ aspectRatio: `${source.width} / ${source.height}` }}>
          <img src={url} alt={`Source image ${info.sourceName}`} />
          <span
            className="crop-box"
            data-testid="crop-box"
            style={{
              left: pct(crop.left, source.width),
              top: pct(crop.top, source.height),
              width: pct(crop.width, source.width),
              height: pct(crop.height, source.height),
            }}
          />
        </span>
      )}
      <span className="small">
        <b>Attributed image</b> · {info.sourceName} ({source.width}×{source.height}
        {source.hasAlpha ? ', alpha flattened onto white' : ''}) · the outlined {crop.width}×{crop.height} crop, resized
        to {payload.width}×{payload.height}
        <span className="muted">
          {' '}
          · {info.timesteps.length} noise levels from {info.noise.from} to {info.noise.to}, seed {info.seed}
        </span>
      </span>
    </div>
  )
}
