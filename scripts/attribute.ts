/**
 * Attributing an existing image to the words of a caption, from the command line (no Electron):
 *
 *   npm run attribute -- --image photo.png --prompt "a red circle" [--heatmaps all|word,word]
 *     [--timesteps N] [--noise FROM,TO] [--seed N] [--guided] [--model FOLDER] [--threads N] --out DIR
 *
 * The image (PNG, JPEG or WebP) is centre-cropped to the model's aspect and resized to its default
 * size (src/main/engine/image-input.ts), then attributed (src/main/attention/attribute.ts). Writes
 * DIR/image.png (what the model saw), DIR/meta.json (source, crop, settings, timings, prompt words)
 * and, with --heatmaps, the same word files as `npm run generate -- --heatmaps`
 * (src/main/saving/cli-heatmaps.ts). Exit code 2 for bad arguments or an unusable image (with the
 * reason), 1 for failures.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { ATTRIBUTE_DEFAULTS, AttributeError, attributeImage } from '../src/main/attention/attribute'
import { loadTracedModel, type TracedModel } from '../src/main/attention/trace'
import { ModelFolderError } from '../src/main/engine'
import { fitImage, ImageInputError } from '../src/main/engine/image-input'
import { HeatmapWordsError, writeCliHeatmaps } from '../src/main/saving/cli-heatmaps'
import { encodeTextPng } from '../src/main/saving/png'
import { parseArgsOrExit, runCli, strictArgs, UsageError } from './cli-args'

const USAGE = `usage: attribute --image FILE --prompt TEXT --out DIR [--heatmaps all|word,word]
                 [--timesteps N] [--noise FROM,TO] [--seed N] [--guided] [--model FOLDER] [--threads N]`

function parse(argv: string[]) {
  const values = strictArgs(argv, {
    image: { type: 'string' },
    prompt: { type: 'string' },
    heatmaps: { type: 'string' },
    timesteps: { type: 'string' },
    noise: { type: 'string' },
    seed: { type: 'string' },
    guided: { type: 'boolean' },
    model: { type: 'string' },
    threads: { type: 'string' },
    out: { type: 'string' },
  })
  if (values.help) return null
  if (!values.image) throw new UsageError('--image FILE is required')
  if (!values.prompt?.trim()) throw new UsageError('--prompt is required')
  if (!values.out) throw new UsageError('--out DIR is required')
  const int = (name: string, v: string | undefined, fallback: number): number => {
    if (v === undefined) return fallback
    if (!/^\d+$/.test(v.trim())) throw new UsageError(`--${name} must be a non-negative integer, got '${v}'`)
    return Number(v)
  }
  let noise = ATTRIBUTE_DEFAULTS.noise
  if (values.noise !== undefined) {
    const parts = values.noise.split(',').map(Number)
    if (parts.length !== 2 || parts.some((x) => !Number.isFinite(x)))
      throw new UsageError(`--noise must be FROM,TO (fractions of the schedule), got '${values.noise}'`)
    noise = { from: parts[0]!, to: parts[1]! }
  }
  return {
    image: resolve(values.image),
    prompt: values.prompt,
    heatmaps: values.heatmaps,
    settings: {
      timesteps: int('timesteps', values.timesteps, ATTRIBUTE_DEFAULTS.timesteps),
      noise,
      seed: int('seed', values.seed, ATTRIBUTE_DEFAULTS.seed),
      guided: !!values.guided,
    },
    model: resolve(values.model ?? join(__dirname, '..', 'models', 'daam-shapes')),
    threads: values.threads === undefined ? undefined : int('threads', values.threads, 1),
    out: resolve(values.out),
  }
}

async function main(): Promise<number> {
  const args = parseArgsOrExit(parse, USAGE)
  if (typeof args === 'number') return args
  let bytes: Buffer
  try {
    bytes = readFileSync(args.image)
  } catch (e) {
    process.stderr.write(`error: cannot read ${args.image}: ${(e as Error).message}\n`)
    return 2
  }
  let traced: TracedModel | undefined
  try {
    traced = await loadTracedModel(args.model, { threads: args.threads })
    const { folder } = traced.model
    const fitted = await fitImage(bytes, folder.defaultWidth, folder.defaultHeight)
    const a = await attributeImage(traced, fitted, args.prompt, args.settings)
    mkdirSync(args.out, { recursive: true })
    const png = await encodeTextPng(fitted.rgb, fitted.width, fitted.height, 3, { 'daam-studio-source': args.image })
    writeFileSync(join(args.out, 'image.png'), png)
    const meta = {
      kind: 'attributed image',
      source: { file: args.image, ...fitted.source },
      crop: fitted.crop,
      size: { width: fitted.width, height: fitted.height },
      prompt: args.prompt,
      model: args.model,
      settings: a.settings,
      timesteps: a.timesteps,
      timings: a.timings,
      words: a.encoding.words
        .filter((w) => w.kind === 'word')
        .map((w) => ({ text: w.text, tokenIndices: w.tokenIndices })),
    }
    if (args.heatmaps !== undefined) {
      const written = await writeCliHeatmaps({
        outDir: args.out,
        spec: args.heatmaps,
        encoding: a.encoding,
        record: a.record,
        rgb: fitted.rgb,
        width: fitted.width,
        height: fitted.height,
        meta: {
          prompt: args.prompt,
          model: args.model,
          seed: a.settings.seed,
          steps: a.timesteps.length,
          kind: 'attributed image',
          source: args.image,
        },
      })
      Object.assign(meta, { heatmaps: written })
    }
    writeFileSync(join(args.out, 'meta.json'), `${JSON.stringify(meta, null, 2)}\n`)
    const c = fitted.crop
    process.stdout.write(
      `attributed ${args.image} (${fitted.source.width}x${fitted.source.height}, crop ${c.width}x${c.height} at ${c.left},${c.top} -> ${fitted.width}x${fitted.height}) in ${a.timesteps.length} U-Net calls; wrote ${args.out}\n`,
    )
    return 0
  } catch (e) {
    if (
      e instanceof ImageInputError ||
      e instanceof HeatmapWordsError ||
      (e instanceof AttributeError && e.code === 'invalid-settings')
    ) {
      process.stderr.write(`error: ${e.message}\n`)
      return 2
    }
    const where = e instanceof ModelFolderError || e instanceof AttributeError ? ` [${e.code}]` : ''
    process.stderr.write(`error${where}: ${(e as Error).message}\n`)
    return 1
  } finally {
    await traced?.model.release()
  }
}

runCli(main)
