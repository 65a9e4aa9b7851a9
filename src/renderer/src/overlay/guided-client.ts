/**
 * The renderer's one image-guided precompute worker (guided-worker.ts), for OverlayView: it sends
 * a generation's image once, then jobs, and hands each result to the job's cache. Only the latest
 * job's results are delivered (the worker also stops a superseded job between words). When the
 * worker cannot start or fails, `available` turns false and clicks compute inline, as before.
 */
import type { TokenMaps } from '../../../shared/heatmap/aggregate'
import type { ImageBytes } from '../../../shared/heatmap/compose'
import type { Normalization, WordSpec } from '../../../shared/heatmap/word-maps'
import { nextJobId, type GuidedReply, type GuidedRequest, type GuidedResult } from './guided-cache'

class GuidedWorkerClient {
  /** undefined: not started yet; null: could not start or failed. */
  private worker: Worker | null | undefined
  private imageOwner: ImageBytes | null = null
  private imageId = 0
  private current: { job: number; deliver: (r: GuidedResult) => void } | null = null
  private currentThumbs: { job: number; deliver: (thumbs: (Float32Array | null)[] | null) => void } | null = null

  get available(): boolean {
    return this.start() !== null
  }

  private start(): Worker | null {
    if (this.worker !== undefined) return this.worker
    if (typeof Worker === 'undefined') return (this.worker = null)
    try {
      const worker = new Worker(new URL('./guided-worker.ts', import.meta.url), { type: 'module', name: 'guided' })
      worker.onmessage = (e: MessageEvent<GuidedReply>) => {
        const r = e.data
        if (this.currentThumbs?.job === r.job) this.currentThumbs.deliver('thumbs' in r ? r.thumbs : null)
        else if (this.current?.job === r.job && !('thumbs' in r)) this.current.deliver(r)
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
    const thumbs = this.currentThumbs
    this.worker?.terminate()
    this.worker = null
    this.current = null
    this.currentThumbs = null
    job?.deliver({ job: job.job, error: 'the image-guided worker stopped' })
    thumbs?.deliver(null)
  }

  /** The worker, with `image` (a shown generation's; sent once while it stays the same object). */
  private withImage(image: ImageBytes): Worker | null {
    const worker = this.start()
    if (worker && this.imageOwner !== image) {
      this.imageOwner = image
      this.imageId++
      worker.postMessage({ type: 'image', image: this.imageId, ...image } satisfies GuidedRequest)
    }
    return worker
  }

  /**
   * Runs `job` over the image and token maps; `deliver` hears each word's map, or an error.
   * Supersedes any job underway.
   */
  run(
    image: ImageBytes,
    job: { job: number; words: WordSpec[] },
    tokenMaps: TokenMaps,
    normalization: Normalization,
    deliver: (r: GuidedResult) => void,
  ): void {
    const worker = this.withImage(image)
    if (!worker) return deliver({ job: job.job, error: 'no image-guided worker' })
    this.current = { job: job.job, deliver }
    const msg: GuidedRequest = {
      type: 'job',
      job: job.job,
      image: this.imageId,
      tokenMaps,
      words: job.words,
      normalization,
    }
    worker.postMessage(msg)
  }

  /**
   * The per-layer grid's thumbnails of `word` (one per cell's token maps, null for none) at
   * `size`, guided by the image shrunk to that size; `deliver` hears them (null: the worker
   * failed). Supersedes the thumbnails underway; returns false when there is no worker.
   */
  thumbs(
    image: ImageBytes,
    size: { width: number; height: number },
    word: WordSpec,
    normalization: Normalization,
    cells: (TokenMaps | null)[],
    deliver: (thumbs: (Float32Array | null)[] | null) => void,
  ): boolean {
    const worker = this.withImage(image)
    if (!worker) return false
    const job = nextJobId()
    this.currentThumbs = { job, deliver }
    const msg: GuidedRequest = { type: 'thumbs', job, image: this.imageId, ...size, word, normalization, cells }
    worker.postMessage(msg)
    return true
  }
}

export const guidedWorker = new GuidedWorkerClient()
