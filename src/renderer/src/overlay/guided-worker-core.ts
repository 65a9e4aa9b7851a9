/**
 * What the image-guided precompute worker does, without the worker: guided-worker.ts feeds it the
 * messages it receives and posts what it sends; unit tests drive it directly. The maths is the
 * shared one (latentWordMaps + guidedWordMap, as Heatmaps' 'guided' method), so a precomputed map
 * equals the one a click would compute inline.
 *
 * One job runs at a time, word by word; between words the core yields to the event loop so that
 * a newer job (new settings, a new generation) can arrive, and the older job stops there instead
 * of finishing maps nobody will draw.
 */
import type { ImageBytes } from '../../../shared/heatmap/compose'
import { guideAtSize, guidedRefiner, guidedWordMap, type GuidedRefiner } from '../../../shared/heatmap/image-guided'
import { latentWordMaps } from '../../../shared/heatmap/word-maps'
import { tokensKey, type GuidedReply, type GuidedRequest, type GuidedThumbsMessage } from './guided-cache'

export type PostResult = (result: GuidedReply, transfer: ArrayBuffer[]) => void

/** A macrotask: lets queued messages be handled before the next word. */
const nextTask = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0))

export class GuidedWorkerCore {
  private image: { id: number; source: ImageBytes; refiner: GuidedRefiner } | null = null
  /** The thumbnails' refiner (the image shrunk to the cells' size), per image and size. */
  private thumbRefiner: { key: string; refiner: GuidedRefiner } | null = null
  private latest = 0
  private latestThumbs = 0

  constructor(
    private readonly post: PostResult,
    private readonly pause: () => Promise<void> = nextTask,
  ) {}

  /** Handles one message; a job's promise settles when it finished or was superseded. */
  async receive(msg: GuidedRequest): Promise<void> {
    if (msg.type === 'image') {
      // built once per generation (at 512 px: the guide's edges and upsampling weights, ~10 ms)
      const { data, width, height, channels } = msg
      const source = { data, width, height, channels }
      this.image = { id: msg.image, source, refiner: guidedRefiner(source) }
      return
    }
    if (msg.type === 'thumbs') return this.thumbs(msg)
    this.latest = msg.job
    let latent: Float32Array[]
    const tm = msg.tokenMaps
    try {
      if (this.image?.id !== msg.image) throw new Error(`job ${msg.job}: image ${msg.image} was not sent`)
      // all words at once: 'absolute' and 'across' scan every token map, once per job
      latent = latentWordMaps(tm, msg.words, msg.normalization)
    } catch (error) {
      this.post({ job: msg.job, error: error instanceof Error ? error.message : String(error) }, [])
      return
    }
    for (let i = 0; i < msg.words.length; i++) {
      await this.pause()
      if (this.latest !== msg.job || this.image?.id !== msg.image) return // superseded
      try {
        const map = guidedWordMap(latent[i]!, tm, msg.normalization, this.image.refiner)
        this.post({ job: msg.job, tokens: tokensKey(msg.words[i]!.tokens), map }, [map.buffer as ArrayBuffer])
      } catch (error) {
        this.post({ job: msg.job, error: error instanceof Error ? error.message : String(error) }, [])
        return
      }
    }
  }

  /** All cells of a thumbnails job at once (cheap: a few thousand pixels each), unless superseded. */
  private async thumbs(msg: GuidedThumbsMessage): Promise<void> {
    this.latestThumbs = msg.job
    await this.pause()
    if (this.latestThumbs !== msg.job) return
    const image = this.image
    if (image?.id !== msg.image)
      return this.post({ job: msg.job, error: `job ${msg.job}: image ${msg.image} was not sent` }, [])
    const key = `${msg.image}|${msg.width}x${msg.height}`
    if (this.thumbRefiner?.key !== key)
      this.thumbRefiner = { key, refiner: guidedRefiner(guideAtSize(image.source, msg.width, msg.height)) }
    const r = this.thumbRefiner.refiner
    const thumbs = msg.cells.map((tm) => {
      if (!tm) return null
      try {
        return guidedWordMap(latentWordMaps(tm, [msg.word], msg.normalization)[0]!, tm, msg.normalization, r)
      } catch {
        return null // e.g. a word past this cell's tokens: the cell stays empty, as under DAAM
      }
    })
    this.post(
      { job: msg.job, thumbs },
      thumbs.flatMap((t) => (t ? [t.buffer as ArrayBuffer] : [])),
    )
  }
}
