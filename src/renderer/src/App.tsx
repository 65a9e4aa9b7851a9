import { useCallback, useEffect, useMemo, useState } from 'react'
import type { WordSpec } from '../../shared/heatmap/words'
import { DEFAULT_OVERLAY, specFilter, wordColors, type OverlaySpec } from '../../shared/ipc/overlay'
import type { GenerationPayload, IpcError, WordChip } from '../../shared/ipc/contract'
import { Banner, type Message } from './components/Banner'
import { HistoryStrip } from './components/HistoryStrip'
import { CLICK_MARK, ImageStage } from './components/ImageStage'
import { ModelPicker } from './components/ModelPicker'
import { OverlayControls, type OverlaySettings } from './components/OverlayControls'
import { OverlayLegend } from './components/OverlayLegend'
import { LivePreview, ProgressPanel } from './components/ProgressPanel'
import { PromptPanel } from './components/PromptPanel'
import { StatusBar } from './components/StatusBar'
import { DisabledReasons, WordChips, type ChipSelection } from './components/WordChips'
import { OverlayView } from './overlay/OverlayView'
import { initialForm, randomSeed, toParams, validateForm, type FormState } from './state/form'
import { useGeneration } from './state/useGeneration'
import { useHistory } from './state/useHistory'
import { useModel } from './state/useModel'
import { useShortcuts, type Command } from './state/useShortcuts'
import { useAppInfo } from './useAppInfo'

export const DEMO_PROMPT = 'a snowman wearing a red hat and a blue scarf around its neck'
const PLAY_INTERVAL_MS = 300
const EMPTY_SELECTION: ChipSelection = { stream: 'cond', indices: [] }

function settingsFor(view: OverlayView | null, previous?: OverlaySettings): OverlaySettings {
  const steps = view?.record?.steps ?? 1
  return {
    mode: previous?.mode ?? DEFAULT_OVERLAY.mode,
    colormap: previous?.colormap ?? DEFAULT_OVERLAY.colormap,
    opacity: previous?.opacity ?? DEFAULT_OVERLAY.opacity,
    tau: previous?.tau ?? DEFAULT_OVERLAY.tau,
    normalization: previous?.normalization ?? DEFAULT_OVERLAY.normalization,
    resolutions: view?.defaultResolutions() ?? [],
    steps: { from: 0, to: steps - 1 },
    step: null,
  }
}

function toSpec(
  chips: WordChip[],
  selection: ChipSelection,
  settings: OverlaySettings,
  totalSteps: number,
): OverlaySpec | null {
  const words = selection.indices
    .map((i) => chips.find((c) => c.index === i))
    .filter((c): c is WordChip => !!c && !c.disabledReason)
    .map((c) => ({ label: c.text, tokens: c.tokenIndices }))
  if (words.length === 0) return null
  const fullRange = settings.steps.from === 0 && settings.steps.to >= totalSteps - 1
  return {
    words,
    stream: selection.stream,
    mode: settings.mode,
    colormap: settings.colormap,
    opacity: settings.opacity,
    tau: settings.tau,
    normalization: settings.normalization,
    filter: {
      // sorted: the same set gives the same filter key, so Heatmaps' aggregation cache hits
      resolutions: [...settings.resolutions].sort((a, b) => b - a),
      ...(fullRange ? {} : { steps: { ...settings.steps } }),
      ...(settings.step === null ? {} : { step: settings.step }),
    },
  }
}

function formFrom(p: GenerationPayload['params']): FormState {
  return {
    prompt: p.prompt,
    negativePrompt: p.negativePrompt,
    seed: String(p.seed),
    seedLocked: true,
    steps: String(p.steps),
    guidance: String(p.guidance),
    scheduler: p.scheduler,
    width: String(p.width),
    height: String(p.height),
  }
}

export function App(): React.JSX.Element {
  const appInfo = useAppInfo()
  const model = useModel()
  const gen = useGeneration()
  const history = useHistory()
  const [form, setForm] = useState<FormState>(initialForm)
  const [showErrors, setShowErrors] = useState(false)
  const [current, setCurrent] = useState<GenerationPayload | null>(null)
  const view = useMemo(() => (current ? new OverlayView(current) : null), [current])
  const [selection, setSelection] = useState<ChipSelection>(EMPTY_SELECTION)
  const [settings, setSettings] = useState<OverlaySettings>(() => settingsFor(null))
  const [playing, setPlaying] = useState(false)
  const [messages, setMessages] = useState<Message[]>([])
  const [busy, setBusy] = useState<string | null>(null)

  const say = useCallback(
    (kind: Message['kind'], text: string) => setMessages((m) => [...m.slice(-3), { kind, text }]),
    [],
  )
  const sayError = useCallback((e: IpcError) => say(e.code === 'cancelled' ? 'info' : 'error', e.message), [say])

  const errors = useMemo(() => validateForm(form, model.model), [form, model.model])
  const totalSteps = view?.record?.steps ?? 1

  // A new generation (or history entry) starts with no word picked and full ranges.
  const [shownView, setShownView] = useState<OverlayView | null>(null)
  if (shownView !== view) {
    setShownView(view)
    setSelection(EMPTY_SELECTION)
    setSettings((s) => settingsFor(view, s))
    setPlaying(false)
  }

  const chips = current?.words ?? []
  const negativeChips = current?.negativeWords ?? []
  const shownChips = selection.stream === 'cond' ? chips : negativeChips
  const spec = useMemo(
    () => (view?.heatmaps ? toSpec(shownChips, selection, settings, totalSteps) : null),
    [view, shownChips, selection, settings, totalSteps],
  )
  // Large models store some layers in time buckets; a step filter cutting one is approximate.
  const approximate = useMemo(() => {
    if (!spec || !view?.heatmaps) return false
    try {
      return view.heatmaps.tokenMaps(specFilter(spec), spec.stream).approximate
    } catch {
      return false // an impossible filter is reported by the canvas
    }
  }, [spec, view])
  const colors = useMemo(
    () => wordColors(selection.indices.length).map(([r, g, b]) => `rgb(${r}, ${g}, ${b})`),
    [selection.indices.length],
  )
  // One hover row per distinct word: a word typed several times averages its occurrences (DAAM).
  const hoverWords = useMemo<WordSpec[]>(() => {
    const byText = new Map<string, { label: string; tokens: number[] }>()
    for (const c of shownChips) {
      if (c.disabledReason) continue
      const key = c.text.toLowerCase()
      const entry = byText.get(key) ?? { label: c.text, tokens: [] }
      entry.tokens.push(...c.tokenIndices)
      byText.set(key, entry)
    }
    return [...byText.values()]
  }, [shownChips])

  // Aggregate the new record while the user looks at the image, not on the first click.
  useEffect(() => {
    if (!view?.heatmaps) return
    const timer = setTimeout(() => view.warm(), 50)
    return () => clearTimeout(timer)
  }, [view])

  // Play: step through the denoising steps one at a time.
  useEffect(() => {
    if (!playing) return
    const timer = setInterval(() => {
      setSettings((s) => ({ ...s, step: s.step === null || s.step >= totalSteps - 1 ? 0 : s.step + 1 }))
    }, PLAY_INTERVAL_MS)
    return () => clearInterval(timer)
  }, [playing, totalSteps])

  const generate = async (): Promise<void> => {
    if (gen.running) return say('info', 'A generation is already running: wait for it or cancel it (Esc).')
    if (Object.keys(errors).length > 0) {
      setShowErrors(true)
      return
    }
    setShowErrors(false)
    const seed = form.seedLocked ? Number(form.seed) : randomSeed()
    if (!form.seedLocked) setForm((f) => ({ ...f, seed: String(seed) }))
    const outcome = await gen.start(toParams(form, seed))
    if ('refused' in outcome) return
    if ('error' in outcome) return sayError(outcome.error)
    const { payload } = outcome
    setCurrent(payload)
    if (payload.droppedWords.length > 0) {
      say(
        'warn',
        `The prompt is longer than the model's ${model.model?.maxTokens ?? 77} tokens; these words were cut: ${payload.droppedWords.join(' ')}`,
      )
    }
    if (payload.attentionWarning) say('warn', payload.attentionWarning)
    if (payload.history.saveError) say('error', `${payload.history.saveError} The image is shown but not kept.`)
    await history.refresh()
  }

  const onPick = (stream: 'cond' | 'uncond', index: number, additive: boolean): void => {
    performance.mark(CLICK_MARK)
    setPlaying(false)
    setSelection((sel) => {
      if (!additive || sel.stream !== stream)
        return sel.stream === stream && sel.indices.length === 1 && sel.indices[0] === index
          ? { stream, indices: [] }
          : { stream, indices: [index] }
      return sel.indices.includes(index)
        ? { stream, indices: sel.indices.filter((i) => i !== index) }
        : { stream, indices: [...sel.indices, index] }
    })
  }

  const save = async (kind: 'overlay' | 'all' | 'maps'): Promise<void> => {
    if (!current) return say('info', 'Generate an image first.')
    if (!current.record)
      return say('info', current.attentionWarning ?? 'This generation has no attention maps to save.')
    // "All words" and maps need only the settings; the single overlay needs picked words.
    const firstWord = chips.find((c) => !c.disabledReason)
    const s =
      spec ??
      (kind !== 'overlay' && firstWord
        ? toSpec(chips, { stream: 'cond', indices: [firstWord.index] }, settings, totalSteps)
        : null)
    if (!s) return say('info', 'Pick a word first: Save overlay writes what the image shows.')
    setBusy(kind)
    const call =
      kind === 'overlay'
        ? window.api.overlay.save
        : kind === 'all'
          ? window.api.overlay.saveAll
          : window.api.maps.export
    const r = await call({ id: current.id, spec: s })
    setBusy(null)
    if (!r.ok) return sayError(r.error)
    if (r.value.path) say('info', `Saved to ${r.value.path}`)
  }

  const openHistory = async (id: string): Promise<void> => {
    const r = await window.api.history.get({ id })
    if (!r.ok) {
      sayError(r.error)
      return history.refresh()
    }
    setCurrent(r.value)
    setForm(formFrom(r.value.params))
  }

  const deleteHistory = async (id: string): Promise<void> => {
    await history.remove(id)
    if (current?.id === id) setCurrent(null)
  }

  const openModel = async (dir?: string): Promise<void> => {
    const error = dir ? await model.load(dir) : await model.open()
    if (error) sayError(error)
  }

  const run = (command: Command): void => {
    if (command === 'generate') void generate()
    else if (command === 'cancel') {
      if (gen.running) gen.cancel()
    } else if (command === 'save-overlay') void save('overlay')
    else if (command === 'save-all') void save('all')
    else if (command === 'export-maps') void save('maps')
    else if (command === 'open-model') void openModel()
  }
  useShortcuts(run)

  const statusNote = gen.running
    ? 'Generating…'
    : busy
      ? 'Saving…'
      : current
        ? `${current.width}×${current.height} · ${current.params.steps} steps · ${(current.timings.totalMs / 1000).toFixed(1)} s · ${current.provider.toUpperCase()}`
        : null

  return (
    <div className="app">
      <header className="topbar">
        <div className="brand">
          <span className="brand-mark" aria-hidden="true" />
          <h1>DAAM Studio</h1>
          <span className="tagline">See, word by word, where the model looks</span>
        </div>
        <ModelPicker state={model} disabled={gen.running} onOpen={(dir) => void openModel(dir)} />
      </header>

      <main className="workspace">
        <aside className="panel left" aria-label="Prompt">
          <PromptPanel
            form={form}
            errors={errors}
            showErrors={showErrors}
            model={model.model}
            running={gen.running}
            onChange={(patch) => setForm((f) => ({ ...f, ...patch }))}
            onGenerate={() => void generate()}
          />
        </aside>

        <section className="stage" aria-label="Image">
          {model.error && (
            <p className="banner error" role="alert" data-testid="model-error">
              The model could not be loaded: {model.error.message}
            </p>
          )}
          <Banner messages={messages} onDismiss={(i) => setMessages((m) => m.filter((_, j) => j !== i))} />
          {gen.running && <ProgressPanel progress={gen.progress} onCancel={gen.cancel} />}
          <div className="canvas" data-testid="image-area">
            {gen.running ? (
              <LivePreview progress={gen.progress} />
            ) : view ? (
              <ImageStage view={view} spec={spec} hoverWords={hoverWords} />
            ) : (
              <div className="canvas-empty">
                <div className="canvas-icon" aria-hidden="true" />
                <p>Your image will appear here</p>
                <p className="muted">Type a prompt, then generate. Everything runs on this machine.</p>
              </div>
            )}
          </div>
          {spec && <OverlayLegend spec={spec} colors={colors} />}
          <div className="words-area">
            <div className="section-label">
              Words {current && <span className="muted small">· click for its map, Shift/Ctrl-click to combine</span>}
            </div>
            {current ? (
              <>
                <WordChips
                  label="Prompt words"
                  testId="word-chips"
                  stream="cond"
                  chips={chips}
                  selection={selection}
                  colors={colors}
                  onPick={onPick}
                />
                <DisabledReasons chips={chips} />
                {negativeChips.length > 0 && (
                  <>
                    <div className="section-label small">Negative prompt</div>
                    <WordChips
                      label="Negative prompt words"
                      testId="negative-chips"
                      stream="uncond"
                      chips={negativeChips}
                      selection={selection}
                      colors={colors}
                      onPick={onPick}
                    />
                  </>
                )}
              </>
            ) : (
              <ul className="words placeholder" aria-label="Prompt words">
                {(form.prompt.trim() || model.model?.demoPrompt || DEMO_PROMPT).split(/\s+/).map((w, i) => (
                  <li key={`${i}-${w}`} className="word">
                    {w}
                  </li>
                ))}
              </ul>
            )}
          </div>
        </section>

        <aside className="panel right" aria-label="Overlay and history">
          <div className="section-label">Overlay</div>
          <OverlayControls
            settings={settings}
            resolutions={view?.resolutions() ?? []}
            totalSteps={totalSteps}
            playing={playing}
            approximate={approximate}
            disabled={!view?.heatmaps}
            onChange={(patch) => setSettings((s) => ({ ...s, ...patch }))}
            onPlay={() => {
              if (!playing && selection.indices.length === 0)
                say('info', 'Pick a word to play its map through the steps.')
              setPlaying(!playing)
            }}
          />
          <div className="save-buttons">
            <button
              type="button"
              data-testid="save-overlay"
              disabled={!spec || !!busy}
              onClick={() => void save('overlay')}
            >
              Save overlay <kbd>Ctrl+S</kbd>
            </button>
            <button
              type="button"
              data-testid="save-all"
              disabled={!view?.heatmaps || !!busy}
              onClick={() => void save('all')}
            >
              Save all words
            </button>
            <button
              type="button"
              data-testid="export-maps"
              disabled={!view?.heatmaps || !!busy}
              onClick={() => void save('maps')}
            >
              Export maps
            </button>
          </div>
          <HistoryStrip
            list={history.list}
            currentId={current?.id ?? null}
            onOpen={(id) => void openHistory(id)}
            onDelete={(id) => void deleteHistory(id)}
            onMore={() => void history.more()}
          />
        </aside>
      </main>

      <StatusBar state={appInfo} note={statusNote} />
    </div>
  )
}
