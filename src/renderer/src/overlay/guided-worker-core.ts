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
import { guidedRefiner, guidedWordMap, type GuidedRefiner } from '../../../shared/heatmap/image-guided'
import { latentWordMaps } from '../../../shared/heatmap/word-maps'
import { tokensKey, type GuidedRequest, type GuidedResult } from './guided-cache'

export type PostResult = (result: GuidedResult, transfer: ArrayBuffer[]) => void

/** A macrotask: lets queued messages be handled before the next word. */
const nextTask = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0))

export class GuidedWorkerCore {
  private image: { id: number; refiner: GuidedRefiner } | null = null
  private latest = 0

  constructor(
    private readonly post: PostResult,
    private readonly pause: () => Promise<void> = nextTask,
  ) {}

  /** Handles one message; a job's promise settles when it finished or was superseded. */
  async receive(msg: GuidedRequest): Promise<void> {
    if (msg.type === 'image') {
      // built once per generation (at 512 px: the guide's edges and upsampling weights, ~10 ms)
      const { data, width, height, channels } = msg
      this.image = { id: msg.image, refiner: guidedRefiner({ data, width, height, channels }) }
      return
    }
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
}
