/** The generate CLI end to end on a tiny model folder, and its argument errors. */
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import sharp from 'sharp'
import { describe, expect, it } from 'vitest'
import { writeTinyModel } from '../test/engine/tiny-model'

const root = join(__dirname, '..')

function cli(args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'scripts/generate.ts'), ...args], {
    cwd: root,
    encoding: 'utf8',
    timeout: 60_000,
  })
  return { code: r.status, stdout: r.stdout, stderr: r.stderr }
}

describe('scripts/generate.ts', () => {
  it('writes image.png and meta.json with parameters, model, provider and timings', async () => {
    const model = writeTinyModel()
    const out = join(mkdtempSync(join(tmpdir(), 'cli-')), 'result')
    const r = cli([
      '--prompt',
      'a red circle',
      '--negative',
      'blue',
      '--seed',
      '7',
      '--steps',
      '4',
      '--guidance',
      '3.5',
      '--scheduler',
      'dpmpp-2m',
      '--width',
      '48',
      '--height',
      '32',
      '--model',
      model,
      '--out',
      out,
    ])
    expect(r.stderr).not.toMatch(/error/)
    expect(r.code).toBe(0)
    const meta = JSON.parse(readFileSync(join(out, 'meta.json'), 'utf8'))
    expect(meta.params).toMatchObject({
      prompt: 'a red circle',
      negativePrompt: 'blue',
      seed: 7,
      steps: 4,
      guidance: 3.5,
      scheduler: 'dpmpp-2m',
      width: 48,
      height: 32,
    })
    expect(meta.model).toBe(model)
    expect(meta.provider.used).toBe('cpu')
    expect(meta.timings.totalMs).toBeGreaterThan(0)
    expect(meta.timings.stepMs).toHaveLength(4)
    expect(meta.prompt.words.map((w: { text: string }) => w.text)).toEqual(['a', 'red', 'circle'])
    const img = await sharp(join(out, 'image.png')).metadata()
    expect([img.width, img.height]).toEqual([48, 32])
  }, 60_000)

  it('rejects bad arguments with exit code 2 and a message naming the argument', () => {
    const out = join(tmpdir(), 'never-written')
    const cases: [string[], RegExp][] = [
      [['--out', out], /--prompt is required/],
      [['--prompt', 'x'], /--out DIR is required/],
      [['--prompt', 'x', '--out', out, '--steps', 'ten'], /--steps must be a non-negative integer, got 'ten'/],
      [['--prompt', 'x', '--out', out, '--guidance', 'lots'], /--guidance must be a number, got 'lots'/],
      [['--prompt', 'x', '--out', out, '--scheduler', 'lms'], /--scheduler must be one of ddim, euler/],
      [['--prompt', 'x', '--out', out, '--steps', '500'], /invalid generation parameter 'steps'/],
      [['--prompt', 'x', '--out', out, '--frobnicate'], /Unknown option '--frobnicate'/],
    ]
    for (const [args, msg] of cases) {
      const r = cli(args)
      expect(r.code, args.join(' ')).toBe(2)
      expect(r.stderr).toMatch(msg)
    }
    expect(existsSync(out)).toBe(false)
  }, 120_000)

  it('exits 1 with the folder error for a bad model folder', () => {
    const r = cli([
      '--prompt',
      'x',
      '--out',
      join(tmpdir(), 'never'),
      '--model',
      join(tmpdir(), 'missing-model-folder'),
    ])
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/error \[folder-missing\]: model folder not found: .*missing-model-folder/)
  }, 60_000)
})

const bundled = join(root, 'models/daam-shapes')

describe('scripts/generate.ts --heatmaps', () => {
  it.runIf(existsSync(join(bundled, 'model_index.json')))(
    'writes the word heat maps next to the image (bundled model)',
    () => {
      const out = join(mkdtempSync(join(tmpdir(), 'cli-maps-')), 'r')
      const r = cli([
        '--prompt',
        'a red circle and a blue square',
        '--heatmaps',
        'red,square',
        '--steps',
        '3',
        '--out',
        out,
      ])
      expect(r.stderr).not.toMatch(/error/)
      expect(r.code).toBe(0)
      const meta = JSON.parse(readFileSync(join(out, 'meta.json'), 'utf8'))
      expect(meta.heatmaps.words.map((w: { word: string }) => w.word)).toEqual(['red', 'square'])
      expect(readdirSync(out)).toEqual(
        expect.arrayContaining(['image.png', 'red.overlay.png', 'square.npy', 'grid.png']),
      )

      const bad = cli(['--prompt', 'a red circle', '--heatmaps', 'dog', '--steps', '1', '--out', join(out, 'x')])
      expect(bad.code).toBe(2)
      expect(bad.stderr).toMatch(/--heatmaps: not in the prompt: dog \(prompt words: a, red, circle\)/)
    },
    120_000,
  )

  it.runIf(existsSync(join(bundled, 'model_index.json')))(
    '--timelapse writes an animated WebP, one frame per step (bundled model)',
    async () => {
      const out = join(mkdtempSync(join(tmpdir(), 'cli-tl-')), 'r')
      const r = cli([
        '--prompt',
        'a red circle and a blue square',
        '--timelapse',
        'circle',
        '--steps',
        '4',
        '--out',
        out,
      ])
      expect(r.stderr).not.toMatch(/error/)
      expect(r.code).toBe(0)
      const meta = JSON.parse(readFileSync(join(out, 'meta.json'), 'utf8'))
      expect(meta.timelapse).toEqual({ file: 'timelapse.webp', word: 'circle', frames: 4 })
      const info = await sharp(join(out, 'timelapse.webp'), { animated: true }).metadata()
      expect(info).toMatchObject({ format: 'webp', pages: 4, width: 256 })

      const bad = cli(['--prompt', 'a red circle', '--timelapse', 'dog', '--steps', '1', '--out', join(out, 'x')])
      expect(bad.code).toBe(2)
      expect(bad.stderr).toMatch(/--timelapse: not in the prompt: dog/)
      const two = cli([
        '--prompt',
        'a red circle',
        '--timelapse',
        'red,circle',
        '--steps',
        '1',
        '--out',
        join(out, 'y'),
      ])
      expect(two.code).toBe(2)
      expect(two.stderr).toMatch(/--timelapse takes one word of the prompt/)
    },
    120_000,
  )

  it('fails clearly on a model without cross-attention', () => {
    const r = cli([
      '--prompt',
      'a red circle',
      '--heatmaps',
      'all',
      '--model',
      writeTinyModel(),
      '--out',
      join(tmpdir(), 'never-maps'),
    ])
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/error: No cross-attention softmax found in the U-Net/)
  }, 60_000)
})

describe('scripts/generate.ts --weights and emphasis', () => {
  const bundled = join(root, 'models/daam-shapes')
  const base = ['--model', bundled, '--seed', '3', '--steps', '8', '--guidance', '5', '--scheduler', 'ddim']
  it('takes --weights or emphasis in the prompt alike, records them, and names bad weights', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cli-w-'))
    const a = cli([...base, '--prompt', 'a snowman wearing a red hat', '--weights', 'hat=0', '--out', join(dir, 'a')])
    expect(a.code, a.stderr).toBe(0)
    const b = cli([...base, '--prompt', 'a snowman wearing a red (hat:0)', '--out', join(dir, 'b')])
    expect(b.code, b.stderr).toBe(0)
    const c = cli([...base, '--prompt', 'a snowman wearing a red hat', '--out', join(dir, 'c')])
    expect(c.code, c.stderr).toBe(0)
    const raw = async (d: string) =>
      (
        await sharp(join(dir, d, 'image.png'))
          .raw()
          .toBuffer()
      ).toString('hex')
    expect(await raw('a')).toBe(await raw('b'))
    expect(await raw('a')).not.toBe(await raw('c'))
    const meta = JSON.parse(readFileSync(join(dir, 'a', 'meta.json'), 'utf8'))
    expect(JSON.stringify(meta)).toContain('"weights":{"hat":0}')
    const png = await sharp(join(dir, 'a', 'image.png')).metadata()
    expect(JSON.stringify(png.comments ?? [])).toContain('Weights: hat=0')

    const bad = cli([...base, '--prompt', 'a red hat', '--weights', 'hat=5', '--out', join(dir, 'x')])
    expect(bad.code).toBe(2)
    expect(bad.stderr).toMatch(/--weights: weight 5 for 'hat' is outside 0\.\.3/)
    const unknown = cli([...base, '--prompt', 'a red hat', '--weights', 'scarf=0', '--out', join(dir, 'y')])
    expect(unknown.code).toBe(2)
    expect(unknown.stderr).toMatch(/not in the prompt: scarf \(prompt words: a, red, hat\)/)
    const emph = cli([...base, '--prompt', 'a (red:7) hat', '--out', join(dir, 'z')])
    expect(emph.code).toBe(2)
    expect(emph.stderr).toMatch(/emphasis weight 7/)
  }, 120_000)
})
