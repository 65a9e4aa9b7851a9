/** The left pane: prompt, negative prompt, seed, steps, guidance, scheduler, size and Generate. */
import { useId } from 'react'
import { DEMO_PROMPT } from '../../../shared/generation'
import type { ModelSummary } from '../../../shared/ipc/payloads'
import { randomSeed, SCHEDULERS, type FieldErrors, type FormState } from '../state/form'

interface Props {
  form: FormState
  errors: FieldErrors
  /** Show field errors (after a first generate attempt, so typing is not nagged). */
  showErrors: boolean
  model: ModelSummary | null
  running: boolean
  /** Why Generate is disabled (form.ts generateBlockedReason); null = enabled. */
  blockedReason: string | null
  onChange: (patch: Partial<FormState>) => void
  onGenerate: () => void
}

const isMac = typeof navigator !== 'undefined' && /Mac/.test(navigator.platform)
export const MOD_KEY = isMac ? '⌘' : 'Ctrl'

function FieldError({ id, text }: { id: string; text: string | undefined }): React.JSX.Element | null {
  if (!text) return null
  return (
    <p className="field-error" id={id} role="alert">
      {text}
    </p>
  )
}

export function PromptPanel({
  form,
  errors,
  showErrors,
  model,
  running,
  blockedReason,
  onChange,
  onGenerate,
}: Props): React.JSX.Element {
  const id = useId()
  const err = (k: keyof FormState): string | undefined => (showErrors ? errors[k] : undefined)
  const placeholder = model?.demoPrompt ?? DEMO_PROMPT
  const presets = model?.sizePresets ?? []
  const sizeValue = `${form.width || model?.width || ''}x${form.height || model?.height || ''}`
  const numberField = (
    key: 'steps' | 'guidance' | 'width' | 'height',
    label: string,
    extra: React.InputHTMLAttributes<HTMLInputElement> = {},
  ) => (
    <div className="field">
      <label htmlFor={`${id}-${key}`}>{label}</label>
      <input
        id={`${id}-${key}`}
        data-testid={key}
        inputMode="decimal"
        value={form[key]}
        aria-invalid={!!err(key)}
        aria-describedby={err(key) ? `${id}-${key}-err` : undefined}
        onChange={(e) => onChange({ [key]: e.target.value })}
        {...extra}
      />
      <FieldError id={`${id}-${key}-err`} text={err(key)} />
    </div>
  )

  return (
    <section className="prompt-panel" aria-label="Prompt and settings">
      <label className="section-label" htmlFor={`${id}-prompt`}>
        Prompt
      </label>
      <textarea
        id={`${id}-prompt`}
        className="prompt"
        data-testid="prompt"
        placeholder={placeholder}
        value={form.prompt}
        rows={4}
        spellCheck={false}
        aria-invalid={!!err('prompt')}
        aria-describedby={err('prompt') ? `${id}-prompt-err` : undefined}
        onChange={(e) => onChange({ prompt: e.target.value })}
      />
      <FieldError id={`${id}-prompt-err`} text={err('prompt')} />
      {!form.prompt && (
        <button type="button" className="link" onClick={() => onChange({ prompt: placeholder })}>
          Use the example prompt
        </button>
      )}

      <label className="section-label" htmlFor={`${id}-neg`}>
        Negative prompt
      </label>
      <textarea
        id={`${id}-neg`}
        className="prompt negative"
        data-testid="negative-prompt"
        placeholder="what the image should not show (optional)"
        value={form.negativePrompt}
        rows={2}
        spellCheck={false}
        onChange={(e) => onChange({ negativePrompt: e.target.value })}
      />
      <FieldError id={`${id}-neg-err`} text={err('negativePrompt')} />

      <div className="settings-grid">
        <div className="field seed-field">
          <label htmlFor={`${id}-seed`}>Seed</label>
          <div className="seed-row">
            <input
              id={`${id}-seed`}
              data-testid="seed"
              inputMode="numeric"
              value={form.seed}
              disabled={!form.seedLocked}
              aria-invalid={!!err('seed')}
              onChange={(e) => onChange({ seed: e.target.value })}
            />
            <button
              type="button"
              className={form.seedLocked ? 'icon-toggle on' : 'icon-toggle'}
              aria-pressed={form.seedLocked}
              title={form.seedLocked ? 'Seed locked: every generation reuses it' : 'Random: a new seed per generation'}
              onClick={() => onChange({ seedLocked: !form.seedLocked })}
            >
              {form.seedLocked ? 'Locked' : 'Random'}
            </button>
            <button
              type="button"
              className="icon-toggle"
              title="Pick a new random seed"
              onClick={() => onChange({ seed: String(randomSeed()), seedLocked: true })}
            >
              New
            </button>
          </div>
          <FieldError id={`${id}-seed-err`} text={err('seed')} />
        </div>
        {numberField('steps', 'Steps')}
        {numberField('guidance', 'Guidance')}
        <div className="field">
          <label htmlFor={`${id}-sched`}>Scheduler</label>
          <select
            id={`${id}-sched`}
            data-testid="scheduler"
            value={form.scheduler}
            onChange={(e) => onChange({ scheduler: e.target.value })}
          >
            <option value="">{model ? `Default (${model.defaultScheduler})` : 'Default'}</option>
            {SCHEDULERS.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor={`${id}-size`}>Size</label>
          <select
            id={`${id}-size`}
            data-testid="size-preset"
            value={presets.some((p) => `${p.width}x${p.height}` === sizeValue) ? sizeValue : 'custom'}
            onChange={(e) => {
              if (e.target.value === 'custom') return
              const [w, h] = e.target.value.split('x')
              onChange({ width: w ?? '', height: h ?? '' })
            }}
          >
            {presets.map((p, i) => (
              <option key={`${p.width}x${p.height}`} value={`${p.width}x${p.height}`}>
                {p.width} × {p.height}
                {i === 0 ? ' (default)' : ''}
              </option>
            ))}
            <option value="custom">Custom</option>
          </select>
        </div>
        {numberField('width', 'Width', { placeholder: model ? String(model.width) : '' })}
        {numberField('height', 'Height', { placeholder: model ? String(model.height) : '' })}
      </div>

      <button
        type="button"
        className="primary generate"
        data-testid="generate"
        disabled={!!blockedReason}
        title={blockedReason ?? undefined}
        aria-describedby={blockedReason && !running ? `${id}-blocked` : undefined}
        onClick={onGenerate}
      >
        Generate <kbd>{MOD_KEY}+Enter</kbd>
      </button>
      {blockedReason && !running && (
        <p className="generate-note muted small" id={`${id}-blocked`} data-testid="generate-blocked" role="status">
          {blockedReason}
        </p>
      )}
    </section>
  )
}
