/**
 * The engine the main process holds: one loaded model at a time, cached between runs. Loading a
 * different folder (or provider, or U-Net buffer) releases the previous sessions first, so two
 * Stable Diffusion models never sit in memory together. Generations are serialised.
 */
import { resolve } from 'node:path'
import type { GenerationParamsInput } from '../../shared/generation'
import { LoadedModel, type LoadOptions } from './model'
import { runPipeline, type GenerateOptions, type GenerationResult } from './pipeline'

export class Engine {
  private current: { key: string; prepareUnet: LoadOptions['prepareUnet']; model: LoadedModel } | null = null
  private queue: Promise<unknown> = Promise.resolve()

  /** The loaded model, loading (and releasing the previous one) when folder or options change. */
  async load(dir: string, opts: LoadOptions = {}): Promise<LoadedModel> {
    return this.serialise(() => this.loadUnlocked(dir, opts))
  }

  private async loadUnlocked(dir: string, opts: LoadOptions): Promise<LoadedModel> {
    const key = JSON.stringify([resolve(dir), opts.provider ?? 'cpu', opts.threads ?? 0, !!opts.spinning])
    // A given U-Net buffer always reloads; a prepareUnet function is reused when it is the same one.
    if (this.current && this.current.key === key && !opts.unetModel && this.current.prepareUnet === opts.prepareUnet) {
      return this.current.model
    }
    if (this.current) {
      const old = this.current
      this.current = null
      await old.model.release()
    }
    const model = await LoadedModel.load(dir, opts)
    this.current = { key, prepareUnet: opts.prepareUnet, model }
    return model
  }

  get model(): LoadedModel | null {
    return this.current?.model ?? null
  }

  async generate(
    dir: string,
    params: GenerationParamsInput,
    opts: GenerateOptions & { load?: LoadOptions } = {},
  ): Promise<GenerationResult> {
    return this.serialise(async () => {
      // Without load options, whatever is loaded for this folder is used as it is.
      const loaded = this.current?.model
      const model =
        !opts.load && loaded && loaded.folder.dir === resolve(dir)
          ? loaded
          : await this.loadUnlocked(dir, opts.load ?? {})
      return runPipeline(model, params, opts)
    })
  }

  async release(): Promise<void> {
    return this.serialise(async () => {
      const old = this.current
      this.current = null
      await old?.model.release()
    })
  }

  private serialise<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.queue.then(fn, fn)
    this.queue = next.catch(() => undefined)
    return next
  }
}
