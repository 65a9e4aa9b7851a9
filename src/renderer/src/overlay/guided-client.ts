/**
 * The renderer's one image-guided precompute worker (guided-worker.ts), for OverlayView: it sends
 * a generation's image once, then jobs, and hands each result to the job's cache. Only the latest
 * job's results are delivered (the worker also stops a superseded job between words). When the
 * worker cannot start or fails, `available` turns false and clicks compute inline, as before.
 */
import type { TokenMaps } from '../../../shared/heatmap/aggregate'
import type { ImageBytes } from '../../../shared/heatmap/compose'
import type { Normalization, WordSpec } from '../../../shared/heatmap/word-maps'
import type { GuidedRequest, GuidedResult } from './guided-cache'

class GuidedWorkerClient {
  /** undefined: not started yet; null: could not start or failed. */
  private worker: Worker | null | undefined
  private imageOwner: object | null = null
  private imageId = 0
  private current: { job: number; deliver: (r: GuidedResult) => void } | null = null

  get available(): boolean {
    return this.start() !== null
  }

  private start(): Worker | null {
    if (this.worker !== undefined) return this.worker
    if (typeof Worker === 'undefined') return (this.worker = null)
    try {
      const worker = new Worker(new URL('./guided-worker.ts', import.meta.url), { type: 'module', name: 'guided' })
      worker.onmessage = (e: MessageEvent<GuidedResult>) => {
        if (this.current?.job === e.data.job) this.current.deliver(e.data)
      }
      worker.onerror = (e) => {
        console.warn(`image-guided worker failed (clicks compute inline): ${e.message}`)
        this.fail()
      }
      worker.onmessageerror = () => this.fail()
      this.worker = worker
    } catch (error) {
      console.warn(`image-guided worker could not start (clicks compute inline): ${String(error)}`)
      this.worker = null
    }
    return this.worker
  }

  private fail(): void {
    const job = this.current
    this.worker?.terminate()
    this.worker = null
    this.current = null
    job?.deliver({ job: job.job, error: 'the image-guided worker stopped' })
  }

  /**
   * Runs `job` for `owner` (a shown generation) over its image and token maps; `deliver` hears
   * each word's map, or an error. Supersedes any job underway.
   */
  run(
    owner: object,
    image: ImageBytes,
    job: { job: number; words: WordSpec[] },
    tokenMaps: TokenMaps,
    normalization: Normalization,
    deliver: (r: GuidedResult) => void,
  ): void {
    const worker = this.start()
    if (!worker) return deliver({ job: job.job, error: 'no image-guided worker' })
    const post = (msg: GuidedRequest): void => worker.postMessage(msg)
    if (this.imageOwner !== owner) {
      this.imageOwner = owner
      this.imageId++
      post({ type: 'image', image: this.imageId, ...image })
    }
    this.current = { job: job.job, deliver }
    post({ type: 'job', job: job.job, image: this.imageId, tokenMaps, words: job.words, normalization })
  }
}

export const guidedWorker = new GuidedWorkerClient()
