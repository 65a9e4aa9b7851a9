/**
 * One attribution of the app ("Open image…" or an image dropped on the canvas): the user's file and
 * caption, fitted to the current model's size, attributed (src/main/attention/attribute.ts), and
 * returned as a GenerationPayload marked `attributed` (with a preview of the source, on which the
 * window shows the crop), so chips, overlays, history and every save work as for a generation.
 * Called in the engine worker (engine-host/engine-thread.ts).
 */
import path from 'node:path'
import sharp from 'sharp'
import { ATTRIBUTE_DEFAULTS, AttributeError, attributeImage } from '../attention/attribute'
import { fitImage, ImageInputError } from '../engine/image-input'
import { outOfMemoryError } from '../engine/ort-errors'
import { encodeTextPng } from '../saving/png'
import { serializeRecord } from '../../shared/attention-record'
import { AppError } from '../../shared/ipc/result'
import { SOURCE_PREVIEW_SIDE, type GenerationPayload } from '../../shared/ipc/payloads'
import type { ActiveModel } from './models'
import { wordChips } from './word-chips'

export interface AttributionRequest {
  /** The file's bytes (PNG, JPEG or WebP). */
  image: Uint8Array
  /** The file's name, for the history and messages. */
  name: string
  prompt: string
  /** Timesteps and noise range (ATTRIBUTE_DEFAULTS when absent). */
  settings?: { timesteps: number; noise: { from: number; to: number } }
}

export async function runAttribution(
  active: ActiveModel,
  request: AttributionRequest,
  options: { id: string },
): Promise<GenerationPayload> {
  const prompt = request.prompt.trim()
  if (!prompt)
    throw new AppError('invalid-params', "Type the image's caption in the prompt box first: its words get the maps.")
  const { width, height } = active.summary
  const sourceName = path.basename(request.name.replace(/\\/g, '/')) || 'image'
  let fitted
  try {
    fitted = await fitImage(request.image, width, height)
  } catch (error) {
    if (error instanceof ImageInputError) throw new AppError('invalid-image', `${sourceName}: ${error.message}`)
    throw error
  }
  let a
  try {
    a = await attributeImage(active, fitted, prompt, { ...ATTRIBUTE_DEFAULTS, ...request.settings })
  } catch (error) {
    if (error instanceof AttributeError)
      throw new AppError(error.code === 'invalid-settings' ? 'invalid-params' : 'no-maps', error.message)
    const oom = outOfMemoryError(error, `attributing a ${width}×${height} image`)
    if (oom) throw oom
    throw new AppError(
      'generation-failed',
      `The model failed while attributing the image: ${error instanceof Error ? error.message : String(error)}`,
    )
  }
  const png = await encodeTextPng(fitted.rgb, width, height, 3, {
    'daam-studio': JSON.stringify({ kind: 'attributed image', source: sourceName, prompt, model: active.summary.name }),
  })
  const sourcePng = await sharp(request.image, { limitInputPixels: false, page: 0, pages: 1 })
    .resize(SOURCE_PREVIEW_SIDE, SOURCE_PREVIEW_SIDE, { fit: 'inside' })
    .flatten({ background: '#ffffff' })
    .png()
    .toBuffer()
  const { timesteps, settings } = a
  return {
    id: options.id,
    createdAt: new Date().toISOString(),
    params: {
      prompt,
      negativePrompt: '',
      seed: settings.seed,
      steps: timesteps.length,
      guidance: 1,
      scheduler: 'ddim',
      width,
      height,
    },
    model: { name: active.summary.name, dir: active.summary.dir },
    provider: active.model.provider.used,
    width,
    height,
    png: new Uint8Array(png),
    rgb: new Uint8Array(fitted.rgb),
    record: serializeRecord(a.record),
    layers: active.hook.taps.map((t) => ({ index: t.index, name: t.name, block: t.block })),
    words: wordChips(a.encoding),
    negativeWords: [],
    droppedWords: a.encoding.droppedWords.map((w) => w.text),
    timings: {
      totalMs: a.timings.encodeMs + a.timings.unetMs,
      denoiseMs: a.timings.unetMs,
      stepMs: a.timings.unetMs / timesteps.length,
    },
    history: { saved: false },
    attributed: {
      sourceName,
      source: fitted.source,
      crop: fitted.crop,
      timesteps,
      noise: settings.noise,
      seed: settings.seed,
    },
    sourcePng: new Uint8Array(sourcePng),
  }
}
