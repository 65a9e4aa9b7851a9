/**
 * The window's layout (main.tsx mounts it): the model badge, the prompt pane, the image stage with
 * its word chips, the overlay and history pane, and the status bar, each inside an ErrorBoundary
 * so a render error stays in its pane. App keeps the form, the shown generation and the messages;
 * the overlay state is use-overlay.ts, the save commands use-save-commands.ts.
 */
import { useCallback, useEffect, useMemo, useRef, useState } from 'react'
import { DEMO_PROMPT, GENERATION_DEFAULTS, type ModelGenerationDefaults } from '../../shared/generation'
import { wordColors } from '../../shared/heatmap/overlay'
import type { GenerationPayload, IpcError } from '../../shared/ipc/contract'
import { AttributedSource } from './components/AttributedSource'
import { Banner, type Message } from './components/Banner'
import { ErrorBoundary, Rethrow } from './components/ErrorBoundary'
import { HistoryStrip } from './components/HistoryStrip'
import { ImageStage } from './components/ImageStage'
import { ModelPicker } from './components/ModelPicker'
import { ModelsPanel } from './components/ModelsPanel'
import { OverlayControls } from './components/OverlayControls'
import { OverlayLegend } from './components/OverlayLegend'
import { LayerGrid } from './components/LayerGrid'
import { LiveStage, LiveWords } from './components/LiveStage'
import { ProgressPanel } from './components/ProgressPanel'
import { PromptPanel } from './components/PromptPanel'
import { StatusBar } from './components/StatusBar'
import { WordsPanel } from './components/WordsPanel'
import { KnockoutPanel } from './components/KnockoutPanel'
import { WordWeight } from './components/WordWeight'
import { ComparePanel } from './components/ComparePanel'
import {
  formFrom,
  generateBlockedReason,
  initialForm,
  withModelDefaults,
  randomSeed,
  toParams,
  validateForm,
  type FormState,
} from './state/form'
import { useOverlay } from './state/use-overlay'
import { useSaveCommands } from './state/use-save-commands'
import { useGeneration } from './state/use-generation'
import { useHistory } from './state/use-history'
import { useModel } from './state/use-model'
import { useShortcuts, type Command } from './state/use-shortcuts'
import { useAppInfo } from './use-app-info'

export function App(): React.JSX.Element {
  const appInfo = useAppInfo()
  const model = useModel()
  const gen = useGeneration()
  const history = useHistory()
  const [form, setForm] = useState<FormState>(initialForm)
  const [showErrors, setShowErrors] = useState(false)
  // Steps and guidance follow the loaded model's defaults until the user types their own.
  const formDefaults = useRef<ModelGenerationDefaults>(GENERATION_DEFAULTS)
  const modelDefaults = model.model?.defaults
  useEffect(() => {
    if (!modelDefaults) return
    const previous = formDefaults.current
    formDefaults.current = modelDefaults
    setForm((f) => withModelDefaults(f, previous, modelDefaults))
  }, [modelDefaults])
  const [current, setCurrent] = useState<GenerationPayload | null>(null)
  const [messages, setMessages] = useState<Message[]>([])
  const [modelsOpen, setModelsOpen] = useState(false)
  const [attributing, setAttributing] = useState(false)
  // Knock out from a word chip's menu (WordsPanel) runs in the KnockoutPanel
  const [knockRequest, setKnockRequest] = useState<{ word: string; n: number } | null>(null)
  const [knockRunning, setKnockRunning] = useState(false)
  // attribution settings: noise levels and their range in % of the schedule (defaults measured, see README)
  const [attrLevels, setAttrLevels] = useState('8')
  const [attrFrom, setAttrFrom] = useState('10')
  const [attrTo, setAttrTo] = useState('50')
  const fileInput = useRef<HTMLInputElement>(null)
  // Words picked for the live maps, by text: taken from the shown image's pick when a run starts,
  // and carried to the finished image's chips.
  const [liveLabels, setLiveLabels] = useState<string[]>([])
  const overlay = useOverlay(current, liveLabels)

  const say = useCallback(
    (kind: Message['kind'], text: string) => setMessages((m) => [...m.slice(-3), { kind, text }]),
    [],
  )
  const sayError = useCallback((e: IpcError) => say(e.code === 'cancelled' ? 'info' : 'error', e.message), [say])
  const saving = useSaveCommands(current, overlay, { info: (text) => say('info', text), error: sayError })

  const errors = useMemo(() => validateForm(form, model.model), [form, model.model])
  const blockedReason = generateBlockedReason({ model: model.model, modelLoading: model.loading, running: gen.running })

  const generate = async (): Promise<void> => {
    if (gen.running) return say('info', 'A generation is already running: wait for it or cancel it (Esc).')
    if (model.loading) return say('info', 'The model is still loading: Generate is available when it is ready.')
    if (Object.keys(errors).length > 0) {
      setShowErrors(true)
      return
    }
    setShowErrors(false)
    if (overlay.spec?.stream === 'cond') setLiveLabels(overlay.spec.words.map((w) => w.label))
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
    if (payload.memoryWarning) say('warn', payload.memoryWarning)
    if (payload.history.saveError) say('error', `${payload.history.saveError} The image is shown but not kept.`)
    await history.refresh()
  }

  /** "Open image…" or a drop on the canvas: the picture is mapped to the prompt box's words. */
  const attribute = async (file: File | undefined): Promise<void> => {
    if (!file) return
    if (gen.running || attributing) return say('info', 'Wait for the running generation first.')
    const prompt = form.prompt.trim()
    if (!prompt) return say('info', `Type the caption of ${file.name} in the prompt box first: its words get the maps.`)
    const timesteps = Number(attrLevels)
    const from = Number(attrFrom) / 100
    const to = Number(attrTo) / 100
    if (!Number.isInteger(timesteps) || timesteps < 1 || timesteps > 100)
      return say('info', 'Noise levels must be a whole number from 1 to 100.')
    if (!(from >= 0 && to <= 1 && from <= to))
      return say('info', 'The noise range must go from a lower to a higher percentage, within 0–100.')
    setAttributing(true)
    try {
      const image = new Uint8Array(await file.arrayBuffer())
      const settings = { timesteps, noise: { from, to } }
      const r = await window.api.attribute.start({ image, name: file.name, prompt, settings })
      if (!r.ok) return sayError(r.error)
      setLiveLabels([])
      setCurrent(r.value)
      await history.refresh()
    } catch (error) {
      say('error', `${file.name} could not be read: ${error instanceof Error ? error.message : String(error)}`)
    } finally {
      setAttributing(false)
    }
  }

  const openHistory = async (id: string): Promise<void> => {
    const r = await window.api.history.get({ id })
    if (!r.ok) {
      sayError(r.error)
      return history.refresh()
    }
    setLiveLabels([]) // a history entry opens with no word picked
    setCurrent(r.value)
    // an attributed image brings back its caption only: its steps and guidance are not a generation's
    if (r.value.attributed) return setForm((f) => ({ ...f, prompt: r.value.params.prompt }))
    try {
      setForm(formFrom(r.value.params))
    } catch {
      say('warn', 'This history entry has no readable settings: the form is unchanged.')
    }
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
    } else if (command === 'save-overlay') void saving.save('overlay')
    else if (command === 'save-all') void saving.save('all')
    else if (command === 'export-maps') void saving.save('maps')
    else if (command === 'open-model') void openModel()
    else if (command === 'models') setModelsOpen(true)
  }
  useShortcuts(run)

  const { view, spec } = overlay
  return (
    <div className="app">
      <header className="topbar">
        <div className="brand">
          <span className="brand-mark" aria-hidden="true" />
          <h1>DAAM Studio</h1>
          <span className="tagline">See, word by word, where the model looks</span>
        </div>
        <ModelPicker
          state={model}
          disabled={gen.running}
          onOpen={(dir) => void openModel(dir)}
          onModels={() => setModelsOpen(true)}
        />
      </header>
      {modelsOpen && (
        <ErrorBoundary name="The Models panel">
          <ModelsPanel
            currentDir={model.model?.dir ?? null}
            busy={gen.running || model.loading}
            onClose={() => setModelsOpen(false)}
            onUse={(dir) => openModel(dir)}
            onError={sayError}
          />
        </ErrorBoundary>
      )}

      <main className="workspace">
        <aside className="panel left" aria-label="Prompt">
          <ErrorBoundary name="The prompt">
            <PromptPanel
              form={form}
              errors={errors}
              showErrors={showErrors}
              model={model.model}
              running={gen.running}
              blockedReason={blockedReason}
              onChange={(patch) => setForm((f) => ({ ...f, ...patch }))}
              onGenerate={() => void generate()}
            />
          </ErrorBoundary>
        </aside>

        <section className="stage" aria-label="Image">
          {model.error && (
            <p className="banner error" role="alert" data-testid="model-error">
              The model could not be loaded: {model.error.message}
            </p>
          )}
          <Banner messages={messages} onDismiss={(i) => setMessages((m) => m.filter((_, j) => j !== i))} />
          {gen.running && <ProgressPanel progress={gen.progress} onCancel={gen.cancel} />}
          {/* "Reload view" drops the generation that broke the pane; a new one clears the error too. */}
          <ErrorBoundary name="The image" resetKey={current} onReset={() => setCurrent(null)}>
            <Rethrow error={overlay.viewError} />
            <div className="stage-tools">
              <button
                type="button"
                data-testid="open-image"
                disabled={gen.running || attributing}
                title="Map the words of the prompt box onto a PNG, JPEG or WebP image you have"
                onClick={() => fileInput.current?.click()}
              >
                {attributing ? 'Attributing…' : 'Open image…'}
              </button>
              <span className="muted small">or drop one on the canvas; the prompt box is its caption</span>
              <label className="small attr-setting">
                levels{' '}
                <input
                  type="number"
                  min={1}
                  max={100}
                  value={attrLevels}
                  data-testid="attr-levels"
                  onChange={(e) => setAttrLevels(e.target.value)}
                />
              </label>
              <label className="small attr-setting">
                noise %{' '}
                <input
                  type="number"
                  min={0}
                  max={100}
                  value={attrFrom}
                  aria-label="Noise from (% of the schedule)"
                  onChange={(e) => setAttrFrom(e.target.value)}
                />
                –
                <input
                  type="number"
                  min={0}
                  max={100}
                  value={attrTo}
                  aria-label="Noise to (% of the schedule)"
                  onChange={(e) => setAttrTo(e.target.value)}
                />
              </label>
              <input
                ref={fileInput}
                type="file"
                hidden
                data-testid="open-image-input"
                accept="image/png,image/jpeg,image/webp"
                onChange={(e) => {
                  void attribute(e.target.files?.[0])
                  e.target.value = ''
                }}
              />
            </div>
            <div
              className="canvas"
              data-testid="image-area"
              onDragOver={(e) => {
                if (e.dataTransfer.types.includes('Files')) e.preventDefault()
              }}
              onDrop={(e) => {
                e.preventDefault()
                void attribute(e.dataTransfer.files[0])
              }}
            >
              {gen.running ? (
                <LiveStage
                  progress={gen.progress}
                  live={gen.live}
                  chips={gen.liveWords}
                  labels={liveLabels}
                  settings={overlay.settings}
                />
              ) : view ? (
                <ImageStage view={view} spec={spec} chips={overlay.shownChips} />
              ) : (
                <div className="canvas-empty">
                  <div className="canvas-icon" aria-hidden="true" />
                  <p>Your image will appear here</p>
                  <p className="muted">Type a prompt, then generate. Everything runs on this machine.</p>
                </div>
              )}
            </div>
            {spec && <OverlayLegend spec={spec} colors={overlay.colors} />}
            {current?.attributed && !gen.running && <AttributedSource payload={current} />}
          </ErrorBoundary>
          {gen.running && (
            <LiveWords
              chips={gen.liveWords}
              labels={liveLabels}
              colors={wordColors(liveLabels.length).map(([r, g, b]) => `rgb(${r}, ${g}, ${b})`)}
              onLabels={setLiveLabels}
            />
          )}
          {!gen.running && (
            <ErrorBoundary name="The words" resetKey={current} onReset={() => setCurrent(null)}>
              <WordsPanel
                overlay={overlay}
                previewPrompt={form.prompt.trim() || model.model?.demoPrompt || DEMO_PROMPT}
                weights={form.weights ?? {}}
                onWeights={(weights) => setForm((f) => ({ ...f, weights }))}
                onKnockOut={
                  current?.record ? (word) => setKnockRequest((r) => ({ word, n: (r?.n ?? 0) + 1 })) : undefined
                }
                knockOutBlocked={knockRunning ? 'A knock-out is running' : undefined}
              />
            </ErrorBoundary>
          )}
          <WordWeight
            word={
              overlay.selection.stream === 'cond' && overlay.selection.indices.length === 1
                ? (overlay.chips[overlay.selection.indices[0]!]?.text ?? null)
                : null
            }
            weights={form.weights ?? {}}
            onChange={(weights) => setForm((f) => ({ ...f, weights }))}
          />
          {current && view && !gen.running && (
            <ErrorBoundary name="The knock-outs" resetKey={current}>
              <KnockoutPanel
                key={current.id}
                current={current}
                overlay={overlay}
                busy={gen.running}
                onError={sayError}
                request={knockRequest}
                onRunning={setKnockRunning}
              />
            </ErrorBoundary>
          )}
          {current && view && !gen.running && (
            <ErrorBoundary name="The comparison" resetKey={current}>
              <ComparePanel
                key={current.id}
                current={current}
                overlay={overlay}
                history={history.list.items}
                onError={sayError}
              />
            </ErrorBoundary>
          )}
        </section>

        <aside className="panel right" aria-label="Overlay and history">
          <ErrorBoundary name="The overlay controls" resetKey={current}>
            <div className="section-label">Overlay</div>
            <OverlayControls
              settings={overlay.settings}
              resolutions={view?.resolutions() ?? []}
              totalSteps={overlay.totalSteps}
              playing={overlay.playing}
              approximate={overlay.approximate}
              refinedAvailable={!!view?.record?.refined}
              disabled={!view?.heatmaps}
              onChange={overlay.changeSettings}
              onPlay={() => overlay.togglePlay((text) => say('info', text))}
            />
            {view?.record && spec?.words.length === 1 ? (
              <LayerGrid
                record={view.record}
                image={view.image}
                spec={spec}
                only={overlay.settings.only}
                onPick={(only) => overlay.changeSettings({ only })}
              />
            ) : null}
            <div className="save-buttons">
              <button
                type="button"
                data-testid="save-overlay"
                disabled={!spec || !!saving.busy}
                onClick={() => void saving.save('overlay')}
              >
                Save overlay <kbd>Ctrl+S</kbd>
              </button>
              <button
                type="button"
                data-testid="save-all"
                disabled={!view?.heatmaps || !!saving.busy}
                onClick={() => void saving.save('all')}
              >
                Save all words
              </button>
              <button
                type="button"
                data-testid="save-timelapse"
                disabled={!spec || !!saving.busy}
                title="An animated WebP of the first picked word's map, step by step, next to the image"
                onClick={() => void saving.save('timelapse')}
              >
                Save time-lapse
              </button>
              <button
                type="button"
                data-testid="export-maps"
                disabled={!view?.heatmaps || !!saving.busy}
                onClick={() => void saving.save('maps')}
              >
                Export maps
              </button>
            </div>
          </ErrorBoundary>
          <ErrorBoundary name="The history" resetKey={history.list}>
            <HistoryStrip
              list={history.list}
              currentId={current?.id ?? null}
              onOpen={(id) => void openHistory(id)}
              onDelete={(id) => void deleteHistory(id)}
              onMore={() => void history.more()}
            />
          </ErrorBoundary>
        </aside>
      </main>

      <ErrorBoundary name="The status bar" resetKey={current}>
        <StatusBar
          state={appInfo}
          activity={gen.running ? 'Generating…' : attributing ? 'Attributing…' : saving.busy ? 'Saving…' : null}
          shown={current}
        />
      </ErrorBoundary>
    </div>
  )
}
