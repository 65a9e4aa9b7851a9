import fs from 'node:fs'
import path from 'node:path'
import * as ort from 'onnxruntime-node'
import sharp from 'sharp'
import type { GenerationParamsInput } from '../../shared/generation'
import type {
  AppInfo,
  GenerationPayload,
  HistoryList,
  HistoryPage,
  KnockoutEntry,
  ModelSummary,
  OverlaySpec,
  RecentModel,
  SavedFile,
} from '../../shared/ipc/contract'
import { AppError } from '../../shared/ipc/result'
import { mergedWordSpecs } from '../../shared/heatmap/prompt-words'
import { foldWord } from '../../shared/tokenizer/word-spans'
import { HistoryStore, newGenerationId } from '../history/store'
import { scriptedDialogs, type DialogAdapter } from './dialogs'
import { ServiceEvents } from './events'
import {
  drawable,
  fileStem,
  writeAllWords,
  writeMaps,
  writeOverlay,
  writeTimelapse,
  type Drawable,
} from '../saving/app-saves'
import { EngineClient } from './engine-host/client'
import { LibraryService } from '../library/library-service'
import { BUNDLED_MODEL_ID, defaultServiceOptions, type ServiceOptions } from './options'
import { Settings } from './settings'

/** Generations kept decoded in memory for saving without a disk read (the latest few). */
const DRAWABLE_CACHE = 4
/** Generations the history could not store, kept for this session (newest). */
const UNSAVED_LIMIT = 20

/**
 * The main-process logic, independent of any transport: Electron IPC, the
 * Chromium e2e bindings, unit tests and CLIs all drive this same object.
 * Model loading and generation run on the engine's worker thread (engine-host/client.ts);
 * history, settings and saving run here. Must not import `electron`.
 */
export class AppService {
  readonly options: ServiceOptions
  readonly events = new ServiceEvents()
  /** The image engine: model loading and generation on a worker thread of this process. */
  readonly engine: EngineClient
  readonly history: HistoryStore | null
  /** Models from the Hub (src/main/library): its channels are bound in handlers.ts. */
  readonly library: LibraryService
  private readonly settings: Settings
  private readonly dialogs: DialogAdapter | null
  private readonly drawables = new Map<string, Drawable>()
  /** Payloads that could not be written to the history (read-only disk), still savable this session. */
  private readonly unsaved = new Map<string, GenerationPayload>()

  constructor(options: Partial<ServiceOptions> = {}) {
    this.options = defaultServiceOptions(options)
    this.engine = new EngineClient({
      bundledDir: this.bundledModelDir,
      threads: this.options.threads,
      refinedMaps: this.options.refinedMaps,
    })
    this.history = this.options.userDataDir ? new HistoryStore(path.join(this.options.userDataDir, 'history')) : null
    this.settings = Settings.inUserData(this.options.userDataDir)
    const userData = this.options.userDataDir
    this.library = new LibraryService({
      defaultModelsDir:
        this.options.libraryDir ?? path.join(userData ?? this.options.modelsDir, userData ? 'models' : 'hub'),
      endpoint: this.options.hubEndpoint,
      settingsFile: userData ? path.join(userData, 'library.json') : null,
      secrets: this.options.secrets,
      events: this.events,
      activeModel: () => ({
        dir: this.engine.current?.dir ?? null,
        provider: this.engine.current?.provider ?? null,
      }),
      reveal: this.options.revealFolder,
    })
    // Scripted answers win: e2e tests set them (as JSON) even where Electron injects real dialogs.
    this.dialogs = this.options.dialogAnswers
      ? scriptedDialogs(this.options.dialogAnswers)
      : (this.options.dialogs ?? null)
  }

  get bundledModelDir(): string {
    return path.join(this.options.modelsDir, BUNDLED_MODEL_ID)
  }

  getAppInfo(): AppInfo {
    const modelDir = this.bundledModelDir
    return {
      name: this.options.appName,
      version: this.options.appVersion,
      platform: process.platform,
      arch: process.arch,
      versions: {
        node: process.versions.node,
        electron: process.versions.electron,
        chrome: process.versions.chrome,
        onnxruntime: ort.env.versions.node ?? ort.env.versions.common,
        sharp: sharp.versions.sharp,
        vips: sharp.versions.vips,
      },
      bundledModel: { path: modelDir, exists: fs.existsSync(modelDir) },
      userDataDir: this.options.userDataDir,
    }
  }

  // ---- models ----

  async currentModel(): Promise<ModelSummary> {
    return this.engine.ensure()
  }

  async loadModel(dir: string): Promise<ModelSummary> {
    if (this.engine.generating)
      throw new AppError('busy', 'Wait for the running generation (or cancel it) before switching models.')
    const summary = await this.engine.load(dir)
    await this.settings.addRecentModel(summary.dir, summary.name)
    return summary
  }

  async openModel(): Promise<ModelSummary | null> {
    const dir = await this.requireDialogs().chooseFolder({
      title: 'Open a diffusers ONNX model folder',
      purpose: 'open-model',
    })
    return dir ? this.loadModel(dir) : null
  }

  recentModels(): RecentModel[] {
    return this.settings.recentModels
  }

  // ---- generation ----

  async generate(params: GenerationParamsInput): Promise<GenerationPayload> {
    // The engine refuses a second generation with 'busy'; one asked for during a load waits for it.
    const payload = await this.engine.generate(params, newGenerationId(), (p) =>
      this.events.emit('generate:progress', p),
    )
    return this.keep(payload)
  }

  /** "Open image…" / a dropped image: an existing picture mapped to the caption's words. */
  async attribute(request: {
    image: Uint8Array<ArrayBuffer>
    name: string
    prompt: string
    settings?: { timesteps: number; noise: { from: number; to: number } }
  }): Promise<GenerationPayload> {
    const { image, name, prompt, settings } = request
    const payload = await this.engine.attribute(image, name, prompt, newGenerationId(), settings)
    return this.keep(payload)
  }

  /** A finished generation or attribution into the history (or memory, when the disk refuses). */
  private async keep(payload: GenerationPayload): Promise<GenerationPayload> {
    if (this.history) {
      try {
        await this.history.save(payload)
        payload.history = { saved: true }
      } catch (error) {
        payload.history = { saved: false, saveError: error instanceof Error ? error.message : String(error) }
      }
    }
    if (!payload.history.saved) {
      this.unsaved.set(payload.id, payload)
      // kept in memory only while the disk refuses them: bound it like a small history
      while (this.unsaved.size > UNSAVED_LIMIT) this.unsaved.delete(this.unsaved.keys().next().value!)
    }
    if (payload.record) this.remember(drawable(payload))
    return payload
  }

  /**
   * Knocks words out of a generation (issue 17) on the model that made it; the results join the
   * generation's earlier knock-outs (a word run again replaces its entry) and its history entry.
   */
  async knockOut(id: string, words: readonly string[]): Promise<KnockoutEntry[]> {
    const payload = await this.getHistory(id)
    if (!payload.record) {
      throw new AppError(
        'invalid-params',
        'This generation has no attention record, so its words cannot be knocked out.',
      )
    }
    const specs = mergedWordSpecs(payload.words)
    const wanted = words.map((w) => {
      const spec = specs.find((s) => foldWord(s.label) === foldWord(w))
      if (!spec) {
        throw new AppError(
          'invalid-params',
          `"${w}" is not a word of this prompt (its words: ${specs.map((s) => s.label).join(', ')}).`,
        )
      }
      return { label: spec.label, tokens: [...spec.tokens] }
    })
    const entries = await this.engine.knockout(
      {
        // the engine checks the stored parameters with the generation schema again
        params: { ...payload.params, scheduler: payload.params.scheduler as GenerationParamsInput['scheduler'] },
        words: wanted,
        rgb: new Uint8Array(payload.rgb),
        record: new Uint8Array(payload.record),
        width: payload.width,
        height: payload.height,
        modelDir: payload.model.dir,
      },
      (p) =>
        this.events.emit('knockout:progress', { id, done: p.step, total: p.total, word: p.word ?? '', etaMs: p.etaMs }),
    )
    const merged = [...(payload.knockouts ?? []).filter((k) => !entries.some((e) => e.word === k.word)), ...entries]
    payload.knockouts = merged
    if (this.history && !this.unsaved.has(id)) await this.history.saveKnockouts(id, merged)
    const cached = this.drawables.get(id)
    if (cached) cached.payload.knockouts = merged
    return merged
  }

  cancelGeneration(): { cancelled: boolean } {
    return { cancelled: this.engine.cancel() }
  }

  // ---- history ----

  async listHistory(page?: HistoryPage): Promise<HistoryList> {
    return this.history ? this.history.list(page) : { items: [], skipped: [], offset: 0, total: 0 }
  }

  async getHistory(id: string): Promise<GenerationPayload> {
    const kept = this.unsaved.get(id)
    if (kept) return kept
    if (!this.history) throw new AppError('not-found', 'There is no history without a user-data folder.')
    return this.history.get(id)
  }

  async deleteHistory(id: string): Promise<{ deleted: boolean }> {
    this.drawables.delete(id)
    const wasUnsaved = this.unsaved.delete(id)
    const deleted = this.history ? await this.history.delete(id) : false
    return { deleted: deleted || wasUnsaved }
  }

  // ---- saving ----

  async saveOverlay(id: string, spec: OverlaySpec): Promise<SavedFile> {
    const d = await this.drawableFor(id)
    const label = spec.words.map((w) => w.label).join('-')
    const file = await this.requireDialogs().saveFile({
      title: 'Save overlay',
      defaultName: `${fileStem(label)}.overlay.png`,
      filters: [{ name: 'PNG image', extensions: ['png'] }],
    })
    if (!file) return { path: null }
    await writeOverlay(file, d, spec)
    return { path: file }
  }

  async saveTimelapse(id: string, spec: OverlaySpec): Promise<SavedFile> {
    const d = await this.drawableFor(id)
    const file = await this.requireDialogs().saveFile({
      title: 'Save time-lapse',
      defaultName: `${fileStem(spec.words[0]!.label)}.timelapse.webp`,
      filters: [{ name: 'Animated WebP', extensions: ['webp'] }],
    })
    if (!file) return { path: null }
    await writeTimelapse(file, d, spec)
    return { path: file }
  }

  saveAllWords(id: string, spec: OverlaySpec): Promise<SavedFile> {
    return this.exportToFolder(id, spec, 'Save all words into a folder', writeAllWords)
  }

  exportMaps(id: string, spec: OverlaySpec): Promise<SavedFile> {
    return this.exportToFolder(id, spec, 'Export maps into a folder', writeMaps)
  }

  /** Folder exports: the generation is resolved before the dialog so a bad id never opens one. */
  private async exportToFolder(
    id: string,
    spec: OverlaySpec,
    title: string,
    write: (dir: string, d: Drawable, spec: OverlaySpec) => Promise<string>,
  ): Promise<SavedFile> {
    const d = await this.drawableFor(id)
    const dir = await this.requireDialogs().chooseFolder({ title, purpose: 'export' })
    if (!dir) return { path: null }
    return { path: await write(dir, d, spec) }
  }

  private requireDialogs(): DialogAdapter {
    if (!this.dialogs) throw new AppError('no-dialog', 'No file dialog is available in this environment.')
    return this.dialogs
  }

  private async drawableFor(id: string): Promise<Drawable> {
    const hit = this.drawables.get(id)
    if (hit) return hit
    const d = drawable(await this.getHistory(id))
    this.remember(d)
    return d
  }

  private remember(d: Drawable): void {
    this.drawables.delete(d.payload.id)
    this.drawables.set(d.payload.id, d)
    while (this.drawables.size > DRAWABLE_CACHE) this.drawables.delete(this.drawables.keys().next().value!)
  }

  /** Cancels the running generation, releases the model and stops the engine's worker. Called on app quit and after tests. */
  async dispose(): Promise<void> {
    await this.library.dispose()
    await this.engine.release()
  }
}
