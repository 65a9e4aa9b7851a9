/**
 * Decides, from a repository's file listing alone (before any byte is downloaded), whether it holds
 * a diffusers ONNX Stable Diffusion pipeline and which of its files the app needs. The required
 * paths mirror what inspectModelFolder (engine/modelFolder.ts) checks once the files are on disk.
 * Caller: library-service.ts (plan an install).
 */
import { AppError } from '../../shared/ipc/result'
import type { HubFile } from './hub-client'

/** Components the txt2img pipeline loads; every file inside them is fetched except PyTorch weights. */
// SDXL adds text_encoder_2 and tokenizer_2 (src/main/engine/sdxl.ts).
const COMPONENTS = ['text_encoder', 'text_encoder_2', 'unet', 'vae_decoder', 'tokenizer', 'tokenizer_2', 'scheduler']
/** Weights of other frameworks: the ONNX graphs (and their external data) are all the app reads. */
const FOREIGN_WEIGHTS = /\.(bin|safetensors|ckpt|pt|pth|msgpack|h5|ot|gguf)$/i
const REQUIRED: [string, string][] = [
  ['model_index.json', 'model_index.json'],
  ['text_encoder/model.onnx', 'the text encoder (text_encoder/model.onnx)'],
  ['unet/model.onnx', 'the U-Net (unet/model.onnx)'],
  ['vae_decoder/model.onnx', 'the VAE decoder (vae_decoder/model.onnx)'],
  ['scheduler/scheduler_config.json', 'the scheduler config (scheduler/scheduler_config.json)'],
]

export interface LayoutPlan {
  /** Files to fetch; `path` is relative to the model folder, `repoPath` to the repository. */
  files: (HubFile & { repoPath: string })[]
  skipped: { path: string; size: number; reason: string }[]
}

function skipReason(rel: string): string | null {
  const top = rel.split('/')[0]
  if (rel === 'model_index.json') return null
  if (!rel.includes('/')) return 'not part of the pipeline'
  if (!COMPONENTS.includes(top)) {
    return top === 'safety_checker' || top === 'feature_extractor'
      ? 'safety checker (not used)'
      : top === 'vae_encoder'
        ? 'VAE encoder (image-to-image only)'
        : `${top} is not used by the text-to-image pipeline`
  }
  if (FOREIGN_WEIGHTS.test(rel)) return 'PyTorch/other-framework weights (the ONNX files are used)'
  if (/(^|\/)(README\.md|\.gitattributes)$/i.test(rel)) return 'not part of the pipeline'
  return null
}

/**
 * Checks the diffusers ONNX layout under `subfolder` and picks the files to download; throws
 * AppError('not-onnx-layout') naming what is missing, with a hint when the repo is PyTorch-only or
 * the ONNX export sits in a subfolder.
 */
export function planLayout(repo: string, files: HubFile[], subfolder: string): LayoutPlan {
  const prefix = subfolder ? `${subfolder}/` : ''
  const inside = files.filter((f) => f.path.startsWith(prefix)).map((f) => ({ ...f, rel: f.path.slice(prefix.length) }))
  const have = new Set(inside.map((f) => f.rel))
  const missing = REQUIRED.filter(([p]) => !have.has(p)).map(([, what]) => what)
  const bpe = have.has('tokenizer/vocab.json') && have.has('tokenizer/merges.txt')
  if (!bpe && !have.has('tokenizer/tokenizer.json')) missing.push('the tokenizer (tokenizer/vocab.json + merges.txt)')
  if (missing.length) {
    const where = subfolder ? `${repo}:${subfolder}` : repo
    const hints: string[] = []
    if (files.some((f) => /(^|\/)unet\/diffusion_pytorch_model\.(bin|safetensors)$/.test(f.path))) {
      hints.push('it holds PyTorch weights only; look for an ONNX revision (e.g. @onnx) or an ONNX export of it')
    }
    const nested = files.find((f) => f.path.endsWith('/unet/model.onnx') && !f.path.startsWith(prefix + 'unet/'))
    if (nested)
      hints.push(
        `an ONNX U-Net sits in ${nested.path.slice(0, -'/unet/model.onnx'.length)}/: add :${nested.path.slice(0, -'/unet/model.onnx'.length)} to the name`,
      )
    throw new AppError(
      'not-onnx-layout',
      `${where} is not a diffusers ONNX Stable Diffusion layout: missing ${missing.join(', ')}.` +
        (hints.length ? ` Hint: ${hints.join('; ')}.` : '') +
        ' Nothing was downloaded.',
    )
  }
  const plan: LayoutPlan = { files: [], skipped: [] }
  for (const f of inside) {
    const reason = skipReason(f.rel)
    if (reason) plan.skipped.push({ path: f.path, size: f.size, reason })
    else plan.files.push({ path: f.rel, repoPath: f.path, size: f.size, sha256: f.sha256, gitOid: f.gitOid })
  }
  return plan
}
