/**
 * "Save all words" for a generation's knock-outs (issue 17): per knocked-out word,
 * knockouts/<word>.knockout.png (the re-run), <word>.change.png (the change map drawn over the
 * original image with the overlay's colour map and opacity, as the app shows it) and
 * <word>.change.npy (float32 [H, W], values in [0, 1]); the figures go into meta.json. Caller:
 * app-saves.ts writeAllWords.
 */
import fs from 'node:fs/promises'
import path from 'node:path'
import { colormapLut } from '../../shared/colormaps'
import { overlayHeatmap, type ImageBytes } from '../../shared/heatmap/compose'
import type { OverlaySettings } from '../../shared/heatmap/overlay'
import type { KnockoutEntry } from '../../shared/ipc/payloads'
import { writeNpy } from '../../shared/npy'
import { safeStem } from './file-names'
import { generationText, type GenerationInfo } from './metadata'
import { encodeOverlayPng } from './png'

export interface ExportedKnockout {
  word: string
  tokenIndices: number[]
  attentionShare: number
  changeSize: number
  agreement: number
  disagree: boolean
  tau: number
  fromStep: number
  knockoutPng: string
  changePng: string
  changeNpy: string
}

export async function writeKnockoutFiles(
  dir: string,
  entries: readonly KnockoutEntry[],
  image: ImageBytes,
  settings: Pick<OverlaySettings, 'colormap' | 'opacity'>,
  generation: GenerationInfo,
): Promise<ExportedKnockout[]> {
  if (entries.length === 0) return []
  const sub = path.join(dir, 'knockouts')
  await fs.mkdir(sub)
  const lut = colormapLut(settings.colormap)
  const used = new Set<string>()
  const out: ExportedKnockout[] = []
  for (const e of entries) {
    let stem = safeStem(e.word)
    for (let k = 2; used.has(stem); k++) stem = `${safeStem(e.word)}-${k}`
    used.add(stem)
    const change = new Float32Array(e.change.length)
    for (let i = 0; i < change.length; i++) change[i] = e.change[i] / 255
    const rgba = overlayHeatmap(
      image,
      new Uint8ClampedArray(e.change.buffer, e.change.byteOffset, e.change.length),
      lut,
      settings.opacity,
    )
    const files = {
      knockoutPng: `knockouts/${stem}.knockout.png`,
      changePng: `knockouts/${stem}.change.png`,
      changeNpy: `knockouts/${stem}.change.npy`,
    }
    await fs.writeFile(path.join(dir, files.knockoutPng), e.png)
    const text = { ...generationText(generation), knockout: e.word, agreement: e.agreement.toFixed(4) }
    await fs.writeFile(path.join(dir, files.changePng), await encodeOverlayPng(rgba, e.width, e.height, text))
    await fs.writeFile(path.join(dir, files.changeNpy), writeNpy(change, [e.height, e.width], 'float32'))
    out.push({
      word: e.word,
      tokenIndices: [...e.tokens],
      attentionShare: e.attentionShare,
      changeSize: e.changeSize,
      agreement: e.agreement,
      disagree: e.disagree,
      tau: e.tau,
      fromStep: e.fromStep,
      ...files,
    })
  }
  return out
}
