import { useId } from 'react'
import { COLORMAPS, type ColormapName } from '../../../shared/colormaps'
import type { Normalization } from '../../../shared/heatmap/word-maps'
import { HEATMAP_METHODS, METHOD_HINTS, METHOD_LABELS, type HeatmapMethod } from '../../../shared/heatmap/methods'
import type { OverlaySettings } from '../state/overlay-spec'

interface Props {
  settings: OverlaySettings
  resolutions: number[]
  totalSteps: number
  playing: boolean
  /** The step filter cuts through time buckets of a large model's record. */
  approximate: boolean
  /** The record has the self-attention-refined maps: offer that method too. */
  refinedAvailable?: boolean
  disabled: boolean
  onChange: (patch: Partial<OverlaySettings>) => void
  onPlay: () => void
}

const NORMALIZATIONS: { value: Normalization; label: string; hint: string }[] = [
  { value: 'word', label: 'Per word', hint: 'Each map stretched to its own min-max (DAAM)' },
  { value: 'absolute', label: 'Absolute', hint: 'Comparable between words: weak words stay dim' },
  { value: 'across', label: 'Across words', hint: "Each pixel's share over the prompt's words" },
]

/** Opacity, colour map, mask mode, normalisation, layer resolutions and the time-step range. */
export function OverlayControls({
  settings,
  resolutions,
  totalSteps,
  playing,
  approximate,
  refinedAvailable = false,
  disabled,
  onChange,
  onPlay,
}: Props): React.JSX.Element {
  const id = useId()
  const last = Math.max(0, totalSteps - 1)
  return (
    <fieldset className="overlay-controls" disabled={disabled} aria-label="Overlay controls">
      <div className="control-row">
        <span className="control-label">Show</span>
        <div className="segmented" role="radiogroup" aria-label="Overlay mode">
          {(['heatmap', 'mask'] as const).map((m) => (
            <button
              key={m}
              type="button"
              role="radio"
              aria-checked={settings.mode === m}
              className={settings.mode === m ? 'on' : ''}
              onClick={() => onChange({ mode: m })}
            >
              {m === 'heatmap' ? 'Heat map' : 'Mask'}
            </button>
          ))}
        </div>
      </div>

      <div className="control-row">
        <label className="control-label" htmlFor={`${id}-opacity`}>
          Opacity
        </label>
        <input
          id={`${id}-opacity`}
          data-testid="opacity"
          type="range"
          min={0}
          max={1}
          step={0.05}
          value={settings.opacity}
          onChange={(e) => onChange({ opacity: Number(e.target.value) })}
        />
        <output>{Math.round(settings.opacity * 100)}%</output>
      </div>

      {settings.mode === 'heatmap' ? (
        <div className="control-row">
          <label className="control-label" htmlFor={`${id}-cmap`}>
            Colours
          </label>
          <select
            id={`${id}-cmap`}
            data-testid="colormap"
            value={settings.colormap}
            onChange={(e) => onChange({ colormap: e.target.value as ColormapName })}
          >
            {COLORMAPS.map((c) => (
              <option key={c} value={c}>
                {c}
              </option>
            ))}
          </select>
        </div>
      ) : (
        <div className="control-row">
          <label className="control-label" htmlFor={`${id}-tau`}>
            Threshold
          </label>
          <input
            id={`${id}-tau`}
            data-testid="threshold"
            type="range"
            min={0.05}
            max={0.95}
            step={0.05}
            value={settings.tau}
            onChange={(e) => onChange({ tau: Number(e.target.value) })}
          />
          <output>{settings.tau.toFixed(2)}</output>
        </div>
      )}

      {/* DAAM and the image-guided method need only the record and the image; the refined one
          needs its own recording */}
      <div className="control-row">
        <label className="control-label" htmlFor={`${id}-method`}>
          Method
        </label>
        <select
          id={`${id}-method`}
          data-testid="method"
          value={settings.method}
          title={METHOD_HINTS[settings.method]}
          onChange={(e) => onChange({ method: e.target.value as HeatmapMethod })}
        >
          {HEATMAP_METHODS.filter((m) => m !== 'refined' || refinedAvailable).map((m) => (
            <option key={m} value={m} title={METHOD_HINTS[m]}>
              {METHOD_LABELS[m]}
            </option>
          ))}
        </select>
      </div>

      <div className="control-row">
        <label className="control-label" htmlFor={`${id}-norm`}>
          Normalise
        </label>
        <select
          id={`${id}-norm`}
          data-testid="normalization"
          value={settings.normalization}
          onChange={(e) => onChange({ normalization: e.target.value as Normalization })}
        >
          {NORMALIZATIONS.map((n) => (
            <option key={n.value} value={n.value} title={n.hint}>
              {n.label}
            </option>
          ))}
        </select>
      </div>

      <div className="control-row">
        <span className="control-label">Layers</span>
        <div className="toggles" role="group" aria-label="Layer resolutions">
          {resolutions.map((r) => {
            const on = settings.resolutions.includes(r)
            return (
              <button
                key={r}
                type="button"
                className={on ? 'toggle on' : 'toggle'}
                aria-pressed={on}
                title={`Cross-attention layers at ${r} × ${r} (native resolution)`}
                onClick={() => {
                  const next = on ? settings.resolutions.filter((x) => x !== r) : [...settings.resolutions, r]
                  if (next.length > 0) onChange({ resolutions: next })
                }}
              >
                {r}²
              </button>
            )
          })}
        </div>
      </div>

      <div className="control-row steps-row">
        <span className="control-label">Steps</span>
        <div className="step-range">
          <label className="sr-only" htmlFor={`${id}-from`}>
            First step
          </label>
          <input
            id={`${id}-from`}
            data-testid="step-from"
            type="range"
            min={0}
            max={last}
            value={settings.steps.from}
            onChange={(e) => {
              const v = Number(e.target.value)
              onChange({ step: null, steps: { from: Math.min(v, settings.steps.to), to: settings.steps.to } })
            }}
          />
          <label className="sr-only" htmlFor={`${id}-to`}>
            Last step
          </label>
          <input
            id={`${id}-to`}
            data-testid="step-to"
            type="range"
            min={0}
            max={last}
            value={settings.steps.to}
            onChange={(e) => {
              const v = Number(e.target.value)
              onChange({ step: null, steps: { from: settings.steps.from, to: Math.max(v, settings.steps.from) } })
            }}
          />
          <output>
            {settings.step === null
              ? `${settings.steps.from + 1}–${settings.steps.to + 1} of ${totalSteps}`
              : `step ${settings.step + 1} of ${totalSteps}`}
          </output>
          {approximate && (
            <span
              className="notice small"
              title="This model's record sums some layers over a few steps to stay small; a range that cuts such a group counts it in proportion."
            >
              approximate: some layers are stored per group of steps
            </span>
          )}
        </div>
      </div>
      <div className="control-row">
        <label className="control-label" htmlFor={`${id}-scrub`}>
          Scrub
        </label>
        <input
          id={`${id}-scrub`}
          data-testid="step-scrub"
          type="range"
          min={0}
          max={last}
          value={settings.step ?? settings.steps.to}
          onChange={(e) => onChange({ step: Number(e.target.value) })}
        />
        <button type="button" className="small" data-testid="play" aria-pressed={playing} onClick={onPlay}>
          {playing ? 'Pause' : 'Play'}
        </button>
        <button
          type="button"
          className="small"
          disabled={settings.step === null}
          onClick={() => onChange({ step: null })}
        >
          All
        </button>
      </div>
    </fieldset>
  )
}
