/**
 * Holds one loaded model at a time, cached between loads of the same folder and options. Loading
 * a different folder (or provider, threads, or a given U-Net buffer) releases the previous
 * sessions first, so two Stable Diffusion models never sit in memory together. Callers load through
 * src/main/attention/trace.ts (the app's model manager passes its engine there) and serialise
 * loads themselves; generations run on the returned LoadedModel (runPipeline), one at a time by
 * the caller's own rule (the app's runner refuses a second start as 'busy').
 */
import { resolve } from 'node:path'
import { LoadedModel, type LoadOptions } from './model'

export class Engine {
  private current: { key: string; model: LoadedModel } | null = null

  /** The loaded model, loading (and releasing the previous one) when folder or options change. */
  async load(dir: string, opts: LoadOptions = {}): Promise<LoadedModel> {
    const key = JSON.stringify([resolve(dir), opts.provider ?? 'cpu', opts.threads ?? 0, !!opts.spinning])
    // A given U-Net buffer always reloads: the engine cannot tell two buffers apart cheaply.
    if (this.current && this.current.key === key && !opts.unetModel) return this.current.model
    await this.release()
    const model = await LoadedModel.load(dir, opts)
    this.current = { key, model }
    return model
  }

  get model(): LoadedModel | null {
    return this.current?.model ?? null
  }

  async release(): Promise<void> {
    const old = this.current
    this.current = null
    await old?.model.release()
  }
}
