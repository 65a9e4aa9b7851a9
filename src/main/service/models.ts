/**
 * The current model: the engine's sessions with the U-Net patched by the attention hook, and the
 * summary the UI shows. One model at a time (the engine releases the previous one). A folder that
 * fails validation leaves the current model in place and reports precisely what is wrong.
 */
import path from 'node:path'
import { Engine, ModelFolderError } from '../engine'
import { loadTracedModel, type TracedModel, type TraceHook } from '../attention/trace'
import { largestSquareFor, readMemoryProfile } from '../engine/memory-estimate'
import { outOfMemoryError } from '../engine/ort-errors'
import { MAX_SIDE } from '../../shared/image-size'
import { defaultSchedulerName } from '../../shared/schedulers'
import { modelKind } from '../engine/sdxl'
import { AppError } from '../../shared/ipc/result'
import type { ModelSummary } from '../../shared/ipc/payloads'
import { DEMO_PROMPT, modelGenerationDefaults } from '../../shared/generation'

export interface ActiveModel extends TracedModel {
  /** The hook that patched the U-Net; its taps are empty when attention is fused. */
  hook: TraceHook
  summary: ModelSummary
}

function sizePresets(width: number, height: number, multiple: number): ModelSummary['sizePresets'] {
  const snap = (v: number): number => Math.max(multiple, Math.round(v / multiple) * multiple)
  const presets = [
    { width, height },
    { width: snap(width * 1.5), height },
    { width, height: snap(height * 1.5) },
    { width: snap(width * 2), height: snap(height * 2) },
  ]
  const seen = new Set<string>()
  return presets.filter((p) => !seen.has(`${p.width}x${p.height}`) && !!seen.add(`${p.width}x${p.height}`))
}

export class ModelManager {
  private readonly engine = new Engine()
  private active: ActiveModel | null = null
  private pending: Promise<ActiveModel> | null = null
  /** The last folder that loaded: reloaded when a failed load had to release it. */
  private lastGoodDir: string | null = null

  constructor(private readonly options: { bundledDir: string; threads?: number; refine?: boolean }) {}

  get current(): ActiveModel | null {
    return this.active
  }

  /** The current model, loading the bundled one the first time. */
  async ensure(): Promise<ActiveModel> {
    if (this.active) return this.active
    return this.load(this.lastGoodDir ?? this.options.bundledDir)
  }

  async load(dir: string): Promise<ActiveModel> {
    // Concurrent loads are serialised: the engine holds one model at a time.
    const previous = this.pending ?? Promise.resolve(null)
    const next = previous.catch(() => null).then(() => this.loadNow(path.resolve(dir)))
    this.pending = next
    try {
      return await next
    } finally {
      if (this.pending === next) this.pending = null
    }
  }

  private async loadNow(dir: string): Promise<ActiveModel> {
    if (this.active?.summary.dir === dir) return this.active
    try {
      const { model, hook: traced } = await loadTracedModel(dir, {
        negative: true,
        refine: this.options.refine === true, // the "Refined (self-attention)" overlay method (issue 16)
        threads: this.options.threads,
        engine: this.engine,
      })
      const hook: TraceHook = traced ?? { taps: [] } // always set: the hook is asked for
      readMemoryProfile(model.folder) // the graph scan for the memory check, once per model
      const bundled = dir === path.resolve(this.options.bundledDir)
      const f = model.folder
      const summary: ModelSummary = {
        dir,
        name: path.basename(dir),
        bundled,
        kind: modelKind(f, model.io),
        width: f.defaultWidth,
        height: f.defaultHeight,
        spatialMultiple: f.spatialMultiple,
        sizePresets: sizePresets(f.defaultWidth, f.defaultHeight, f.spatialMultiple),
        defaultScheduler: defaultSchedulerName(f.scheduler),
        defaults: modelGenerationDefaults(f.scheduler),
        provider: model.provider.used,
        providerNote: model.provider.fallbackReason,
        maxTokens: model.io.maxTokens,
        layers: hook.taps.map((t) => ({ index: t.index, name: t.name, block: t.block })),
        recomputedAttention: hook.taps.some((t) => t.recomputed) || undefined,
        attentionWarning: hook.warning,
        demoPrompt: bundled ? DEMO_PROMPT : undefined,
        maxFittingSize: largestSquareFor(model, MAX_SIDE) ?? undefined,
      }
      this.active = { model, hook, summary }
      this.lastGoodDir = dir
      return this.active
    } catch (error) {
      // The engine released the old model before loading: nothing is current any more.
      if (this.engine.model === null) this.active = null
      const oom = outOfMemoryError(error, `loading the model in ${dir}`, 'Close other programs or use a smaller model.')
      if (oom) throw oom
      if (error instanceof ModelFolderError) throw new AppError('model-invalid', `${error.message}`)
      throw new AppError(
        'model-load',
        `Could not load the model in ${dir}: ${error instanceof Error ? error.message : String(error)}`,
      )
    }
  }

  async release(): Promise<void> {
    // A load in flight would otherwise leave its model behind the release.
    await this.pending?.catch(() => undefined)
    this.active = null
    await this.engine.release()
  }
}
