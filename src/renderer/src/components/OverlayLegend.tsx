import { colormapLut } from '../../../shared/colormaps'
import type { OverlaySpec } from '../../../shared/ipc/overlay'

const NORMALIZATION_LABEL: Record<OverlaySpec['normalization'], string> = {
  word: 'min–max per word',
  absolute: 'relative to the strongest token',
  across: "share of the pixel's attention",
}

/** What the colours mean: the colour-map scale, or one hue per word (composites and masks). */
export function OverlayLegend({ spec, colors }: { spec: OverlaySpec; colors: string[] }): React.JSX.Element {
  if (spec.mode === 'heatmap' && spec.words.length === 1) {
    const lut = colormapLut(spec.colormap)
    const stops = [0, 64, 128, 191, 255].map((i) => `rgb(${lut[i * 3]}, ${lut[i * 3 + 1]}, ${lut[i * 3 + 2]})`)
    return (
      <div className="legend" data-testid="legend">
        <span className="muted small">low</span>
        <span className="legend-bar" style={{ background: `linear-gradient(90deg, ${stops.join(', ')})` }} />
        <span className="muted small">high</span>
        <span className="muted small">· {NORMALIZATION_LABEL[spec.normalization]}</span>
      </div>
    )
  }
  return (
    <div className="legend" data-testid="legend">
      {spec.words.map((w, i) => (
        <span key={`${i}-${w.label}`} className="legend-word">
          <span className="swatch" style={{ background: colors[i] }} aria-hidden="true" />
          {w.label}
        </span>
      ))}
      {spec.mode === 'mask' && <span className="muted small">· mask at τ = {spec.tau.toFixed(2)}</span>}
    </div>
  )
}
