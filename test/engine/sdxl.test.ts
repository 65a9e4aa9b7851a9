/**
 * SDXL on the tiny SDXL-shaped pipeline test/fixtures/sdxl-tiny (written by scripts/sdxl-fixture.py
 * with PyTorch modules of SDXL's structure, exported the way Optimum exports SDXL): loading, the
 * two text encoders' conditioning against PyTorch, the hook's taps of every cross-attention layer
 * against PyTorch's attention probabilities, generation with word maps and a negative prompt,
 * weights and knock-outs, attribution of an existing image, force_zeros_for_empty_prompt, an
 * SDXL-Turbo variant (EulerAncestral, trailing, guidance 0), fp16, the CLI and the messages for
 * incomplete SDXL folders.
 */
import { afterAll, describe, expect, it } from 'vitest'
import { spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import * as ort from 'onnxruntime-node'
import { patchUnet } from '../../src/main/attention/patch-unet'
import { loadTracedModel, traceGeneration, type TracedModel } from '../../src/main/attention/trace'
import { LoadedModel } from '../../src/main/engine/model'
import type { ModelFolderError } from '../../src/main/engine/model-folder'
import { encodeConditioning } from '../../src/main/engine/pipeline'
import { modelKind } from '../../src/main/engine/sdxl'
import { sessionOptions } from '../../src/main/engine/session-options'
import { fromHalf } from '../../src/shared/float16'
import { Heatmaps } from '../../src/shared/heatmap/heatmaps'
import { promptWordSpecs, selectWordSpecs } from '../../src/shared/heatmap/prompt-words'
import { knockOutWord } from '../../src/main/attention/knockout'
import { ATTRIBUTE_DEFAULTS, attributeImage } from '../../src/main/attention/attribute'
import { fitImage } from '../../src/main/engine/image-input'
import { npyToFloat32, readNpy } from '../../src/shared/npy'
import { toFloat16Model } from './fp16'
import { downweightEmbeddings } from '../../src/main/engine/downweight'
import { tokenScale } from '../../src/shared/emphasis'
import { maxAbsDiff } from '../helpers/max-abs-diff'

export const SDXL_TINY = path.resolve(__dirname, '../fixtures/sdxl-tiny')
const REF = path.join(SDXL_TINY, 'reference')
const reference = JSON.parse(fs.readFileSync(path.join(REF, 'reference.json'), 'utf8')) as {
  timestep: number
  prompt: string
  layers: { name: string; hw: number; tokens: number; heads: number }[]
}
const npy = (name: string) => npyToFloat32(readNpy(fs.readFileSync(path.join(REF, `${name}.npy`))))

const tmp: string[] = []
afterAll(() => tmp.forEach((d) => fs.rmSync(d, { recursive: true, force: true })))

/** A copy of the fixture, changed by `edit` (a Turbo scheduler, a missing component). */
function variant(edit: (dir: string) => void): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'daam-sdxl-'))
  tmp.push(dir)
  fs.cpSync(SDXL_TINY, dir, { recursive: true })
  fs.rmSync(path.join(dir, 'reference'), { recursive: true })
  edit(dir)
  return dir
}

let traced: Promise<TracedModel> | undefined
const loadSdxl = () => (traced ??= loadTracedModel(SDXL_TINY, { negative: true, threads: 2 }))
afterAll(async () => (await traced)?.model.release())

describe('tiny SDXL (Optimum layout)', () => {
  it('loads: both encoders, the pooled embedding, tokenizer_2 padding with "!", the VAE scaling factor', async () => {
    const { model, hook } = await loadSdxl()
    expect(model.sdxl).not.toBeNull()
    expect(model.io.sdxl).toMatchObject({
      penultimate1: 'hidden_states.2',
      penultimate2: 'hidden_states.2',
      pooledName: 'text_embeds',
      width1: 32,
      width2: 48,
      pooledWidth: 32,
    })
    expect(model.io.hiddenSize).toBe(80)
    expect(model.sdxl!.tokenizer2.special.padToken).toBe('!')
    expect(model.sdxl!.tokenizer2.special.padId).toBe(0)
    expect(model.tokenizer.special.padId).toBe(model.tokenizer.special.eosId)
    expect(model.folder.scalingFactor).toBe(0.13025)
    expect(model.folder.forceZerosForEmptyPrompt).toBe(true)
    expect(hook?.warning).toBeUndefined()
    expect(modelKind(model.folder, model.io)).toBe('SDXL')
  })

  it('conditioning equals PyTorch: penultimate states of both encoders side by side, pooled text_embeds', async () => {
    const { model } = await loadSdxl()
    const enc = model.tokenizer.encode(reference.prompt)
    const c = await encodeConditioning(model, [enc])
    expect(maxAbsDiff(c.hidden, npy('prompt_embeds'))).toBeLessThan(1e-4)
    expect(maxAbsDiff(c.pooled!, npy('pooled_prompt_embeds'))).toBeLessThan(1e-4)
    // the second encoder saw "!" padding, not EOS: its ids differ after the prompt
    const ids2 = model.sdxl!.tokenizer2.repad(enc)
    expect(ids2.slice(0, enc.length)).toEqual(enc.inputIds.slice(0, enc.length))
    expect(new Set(ids2.slice(enc.length))).toEqual(new Set([0]))
  })

  it('taps every cross-attention layer by structure, equal to PyTorch attention probabilities (1e-4)', async () => {
    const bytes = fs.readFileSync(path.join(SDXL_TINY, 'unet', 'model.onnx'))
    const patched = patchUnet(bytes, { negative: true })
    // 28 = 5 x 2 (depth-2 transformers at 8^2: 2 down + 3 up) + 6 x 3 (depth 3 at 4^2: 2 down, mid, 3 up)
    expect(patched.taps.length).toBe(reference.layers.length)
    expect(patched.taps.length).toBe(28)
    expect(patched.taps.map((t) => t.name.replaceAll('/', '.'))).toEqual(reference.layers.map((l) => l.name))
    const session = await ort.InferenceSession.create(patched.model, sessionOptions({ threads: 2 }))
    try {
      const out = await session.run({
        sample: new ort.Tensor('float32', npy('sample'), [2, 4, 16, 16]),
        timestep: new ort.Tensor('int64', BigInt64Array.of(500n, 500n), [2]),
        encoder_hidden_states: new ort.Tensor('float32', npy('encoder_hidden_states'), [2, 77, 80]),
        text_embeds: new ort.Tensor('float32', npy('text_embeds'), [2, 32]),
        time_ids: new ort.Tensor('float32', npy('time_ids'), [2, 6]),
      })
      expect(maxAbsDiff(out.out_sample.data as Float32Array, npy('out_sample'))).toBeLessThan(1e-4)
      const probs = npy('probs')
      let offset = 0
      let worst = 0
      patched.taps.forEach((tap, i) => {
        const n = reference.layers[i].hw * reference.layers[i].tokens
        const uncond = probs.subarray(offset, offset + n)
        const cond = probs.subarray(offset + n, offset + 2 * n)
        offset += 2 * n
        worst = Math.max(worst, maxAbsDiff(out[tap.output].data as Float32Array, cond))
        worst = Math.max(worst, maxAbsDiff(out[tap.uncondOutput!].data as Float32Array, uncond))
      })
      expect(offset).toBe(probs.length)
      console.log(`SDXL taps vs PyTorch: max |diff| ${worst.toExponential(2)} over ${patched.taps.length} layers`)
      expect(worst).toBeLessThan(1e-4)
    } finally {
      await session.release()
    }
  })

  it('generates with maps for every word and a negative prompt', async () => {
    const t = await loadSdxl()
    const g = await traceGeneration(t, {
      prompt: 'a red circle',
      negativePrompt: 'blue square',
      seed: 3,
      steps: 4,
      guidance: 5,
    })
    expect(g.params.scheduler).toBe('euler') // EulerDiscreteScheduler, "leading", as SDXL base
    expect(g.unetCalls).toBe(4)
    expect(g.textEmbeddingsShape).toEqual([2, 77, 80])
    const record = g.record!
    expect(record.layers.length).toBe(28)
    expect(new Set(record.layers.map((l) => l.height))).toEqual(new Set([8, 4])) // none at 16^2
    const words = promptWordSpecs(g.encoding)
    expect(words.map((w) => w.label)).toEqual(['a', 'red', 'circle'])
    const maps = new Heatmaps(record, g.width, g.height).wordMaps(words).maps
    for (const m of maps) {
      expect(m.length).toBe(128 * 128)
      expect(Math.max(...m)).toBeGreaterThan(0.99) // DAAM's per-word normalisation reaches 1
    }
    const negWords = promptWordSpecs(g.negativeEncoding!)
    const neg = new Heatmaps(record, g.width, g.height).wordMaps(negWords, { stream: 'uncond' }).maps
    expect(neg.length).toBe(2)
    expect(Math.max(...neg[0])).toBeGreaterThan(0.99)
  })

  it('word weights and knock-outs act on SDXL (attention control on its 28 layers)', async () => {
    const t = await loadSdxl()
    const params = { prompt: 'a red circle', seed: 5, steps: 3, guidance: 5 }
    const g = await traceGeneration(t, params)
    const ones = await traceGeneration(t, { ...params, weights: { red: 1 } })
    expect(Buffer.from(ones.rgb).equals(Buffer.from(g.rgb))).toBe(true)
    const [red] = selectWordSpecs(g.encoding, ['red']).words
    const source = { params: g.params, rgb: g.rgb, width: g.width, height: g.height, record: g.record! }
    const k = await knockOutWord(t, source, red)
    expect(Buffer.from(k.rgb).equals(Buffer.from(g.rgb))).toBe(false)
    expect(k.changeSize).toBeGreaterThan(0)
    expect(k.attentionShare).toBeGreaterThan(0)
  })

  it('a word at 0 leaves the tokens after it in both encoders (re-encoded without it, "!" padding kept)', async () => {
    const { model } = await loadSdxl()
    const full = model.tokenizer.encode('a red circle')
    const without = model.tokenizer.encode('a circle')
    const c = await encodeConditioning(model, [full])
    const scale = tokenScale(full, [], { red: 0 })
    const out = (await downweightEmbeddings(
      async (p) => (await encodeConditioning(model, p)).hidden,
      [full],
      [scale],
      c.hidden,
    ))!
    const w = (await encodeConditioning(model, [without])).hidden
    const D = c.hidden.length / full.inputIds.length
    const row = (a: Float32Array, j: number) => a.subarray(j * D, (j + 1) * D)
    // "circle" and EOS sit one position later in the full prompt; padding follows in both
    for (const [j, k] of [
      [3, 2],
      [4, 3],
      [10, 9],
    ])
      expect(maxAbsDiff(row(out, j), row(w, k))).toBeLessThan(1e-5)
    for (const j of [0, 1, 2]) expect(maxAbsDiff(row(out, j), row(c.hidden, j))).toBe(0) // BOS, "a", "red"
    expect(maxAbsDiff(row(out, 3), row(c.hidden, 3))).toBeGreaterThan(1e-3)
  })

  it('attributes an existing image (vae_encoder), unguided and guided, to the same prompt maps', async () => {
    const t = await loadSdxl()
    const g = await traceGeneration(t, { prompt: 'a red circle', seed: 4, steps: 3, guidance: 5 })
    const fitted = await fitImage(g.png, 128, 128)
    const a = await attributeImage(t, fitted, 'a red circle')
    expect(a.record.layers).toHaveLength(28)
    expect(a.record.steps).toBe(ATTRIBUTE_DEFAULTS.timesteps)
    // guided: batch 2 with the empty prompt (zeros, force_zeros_for_empty_prompt) beside the caption
    const guided = await attributeImage(t, fitted, 'a red circle', { ...ATTRIBUTE_DEFAULTS, guided: true })
    const t1 = new Heatmaps(a.record, 128, 128).tokenMaps().data
    const t2 = new Heatmaps(guided.record, 128, 128).tokenMaps().data
    expect(maxAbsDiff(t1, t2)).toBeLessThan(1e-3)
  })

  it('an empty negative prompt is zeros (force_zeros_for_empty_prompt): its attention is uniform over the 77 keys', async () => {
    const t = await loadSdxl()
    const g = await traceGeneration(t, { prompt: 'a red circle', negativePrompt: '', seed: 3, steps: 2, guidance: 5 })
    expect(Array.from(g.textEmbeddings.subarray(0, 77 * 80)).every((v) => v === 0)).toBe(true)
    const uncond = g.record!.uncond!
    expect(uncond.tokens).toBe(2) // BOS and EOS of the empty prompt
    for (const [l, data] of uncond.data.entries()) {
      const perStep = g.record!.layers[l].bucketSize
      for (const v of data) expect(Math.abs(fromHalf(v) - perStep / 77)).toBeLessThan(1e-3)
    }
    // without force_zeros the empty prompt is encoded, and its attention is not uniform
    const encoded = variant((dir) => {
      const p = path.join(dir, 'model_index.json')
      fs.writeFileSync(
        p,
        JSON.stringify({ ...JSON.parse(fs.readFileSync(p, 'utf8')), force_zeros_for_empty_prompt: false }),
      )
    })
    const t2 = await loadTracedModel(encoded, { negative: true, threads: 2 })
    try {
      const g2 = await traceGeneration(t2, {
        prompt: 'a red circle',
        negativePrompt: '',
        seed: 3,
        steps: 2,
        guidance: 5,
      })
      expect(g2.textEmbeddings.subarray(0, 77 * 80).some((v) => v !== 0)).toBe(true)
      const spread = g2.record!.uncond!.data[0].map((v) => Math.round(fromHalf(v) * 1e4))
      expect(new Set(spread).size).toBeGreaterThan(1)
    } finally {
      await t2.model.release()
    }
  })

  it('SDXL-Turbo (EulerAncestral, trailing): 1-4 steps at guidance 0 run one batch-1 call per step', async () => {
    const turbo = variant((dir) => {
      const p = path.join(dir, 'scheduler', 'scheduler_config.json')
      const cfg = JSON.parse(fs.readFileSync(p, 'utf8'))
      fs.writeFileSync(
        p,
        JSON.stringify({ ...cfg, _class_name: 'EulerAncestralDiscreteScheduler', timestep_spacing: 'trailing' }),
      )
    })
    const t = await loadTracedModel(turbo, { negative: true, threads: 2 })
    try {
      expect(modelKind(t.model.folder, t.model.io)).toBe('SDXL-Turbo')
      for (const steps of [1, 4]) {
        const g = await traceGeneration(t, { prompt: 'a red circle', seed: 1, steps, guidance: 0 })
        expect(g.params.scheduler).toBe('euler-a')
        expect(g.guided).toBe(false)
        expect(g.unetCalls).toBe(steps)
        expect(g.textEmbeddingsShape).toEqual([1, 77, 80])
        expect(g.record!.steps).toBe(steps)
        expect(g.record!.timesteps[0]).toBe(999)
        expect(g.record!.uncond).toBeUndefined()
      }
      // Left out, steps and guidance are the Turbo model card's: 1 step, no guidance (not 20 at 7.5)
      const d = await traceGeneration(t, { prompt: 'a red circle', seed: 1 })
      expect([d.params.steps, d.params.guidance, d.unetCalls, d.guided]).toEqual([1, 0, 1, false])
    } finally {
      await t.model.release()
    }
  })
})

describe('SDXL fp16 (float16 weights and IO, as `--fp16` exports)', () => {
  it('loads, generates and taps all 28 layers; maps close to the fp32 model', async () => {
    const dir = variant((d) => {
      for (const c of ['text_encoder', 'text_encoder_2', 'unet', 'vae_decoder']) {
        const p = path.join(d, c, 'model.onnx')
        fs.writeFileSync(p, toFloat16Model(fs.readFileSync(p)))
      }
    })
    const t = await loadTracedModel(dir, { negative: true, threads: 2 })
    try {
      const unet = t.model.unet.inputMetadata.find((m) => m.name === 'text_embeds')
      expect(unet && 'type' in unet ? unet.type : undefined).toBe('float32') // the float32 boundary
      const params = { prompt: 'a red circle', negativePrompt: 'blue square', seed: 3, steps: 3, guidance: 5 }
      const half = await traceGeneration(t, params)
      expect(half.record!.layers.length).toBe(28)
      const full = await traceGeneration(await loadSdxl(), params)
      const words = promptWordSpecs(half.encoding)
      const a = new Heatmaps(half.record!, 128, 128).wordMaps(words).maps
      const b = new Heatmaps(full.record!, 128, 128).wordMaps(words).maps
      const worst = Math.max(...a.map((m, i) => maxAbsDiff(m, b[i])))
      console.log(`SDXL fp16 vs fp32 word maps: max |diff| ${worst.toExponential(2)}`)
      expect(worst).toBeLessThan(0.01)
    } finally {
      await t.model.release()
    }
  })
})

describe('incomplete SDXL folders say what is missing', () => {
  const loadError = async (dir: string) => {
    try {
      const m = await LoadedModel.load(dir, { threads: 1 })
      await m.release()
    } catch (e) {
      return e as ModelFolderError
    }
    throw new Error('loaded')
  }

  it('no text_encoder_2: names it (not a hidden-size mismatch)', async () => {
    const dir = variant((d) => {
      fs.rmSync(path.join(d, 'text_encoder_2'), { recursive: true })
      fs.rmSync(path.join(d, 'tokenizer_2'), { recursive: true })
    })
    const e = await loadError(dir)
    expect(e.code).toBe('component-missing')
    expect(e.message).toMatch(/SDXL U-Net .*needs the second text encoder.*text_encoder_2/)
  })

  it('no tokenizer_2', async () => {
    const e = await loadError(variant((d) => fs.rmSync(path.join(d, 'tokenizer_2'), { recursive: true })))
    expect(e.code).toBe('tokenizer-missing')
    expect(e.message).toMatch(/tokenizer_2/)
  })

  it('a tokenizer_2 with another vocabulary', async () => {
    const dir = variant((d) => {
      const p = path.join(d, 'tokenizer_2', 'vocab.json')
      const v = JSON.parse(fs.readFileSync(p, 'utf8')) as Record<string, number>
      const [a, b] = ['red</w>', 'blue</w>']
      ;[v[a], v[b]] = [v[b], v[a]]
      fs.writeFileSync(p, JSON.stringify(v))
    })
    const e = await loadError(dir)
    expect(e.code).toBe('tokenizer-missing')
    expect(e.message).toMatch(/does not match .*token '(red|blue)<\/w>' has id/)
  })
})

describe('the generate CLI on SDXL', () => {
  it('npm run generate -- --model test/fixtures/sdxl-tiny --prompt ... --heatmaps all', () => {
    const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'daam-sdxl-cli-')), 'result')
    tmp.push(path.dirname(out))
    const root = path.resolve(__dirname, '../..')
    const r = spawnSync(
      process.execPath,
      [
        '--import',
        'tsx',
        path.join(root, 'scripts/generate.ts'),
        '--model',
        SDXL_TINY,
        '--prompt',
        'a red circle',
        '--negative',
        'blue square',
        '--steps',
        '3',
        '--heatmaps',
        'all',
        '--out',
        out,
      ],
      { cwd: root, encoding: 'utf8', timeout: 120_000 },
    )
    expect(r.stderr).not.toMatch(/error/i)
    expect(r.status).toBe(0)
    for (const f of ['image.png', 'a.npy', 'red.npy', 'circle.npy', 'grid.png', 'meta.json'])
      expect(fs.existsSync(path.join(out, f)), f).toBe(true)
    const meta = JSON.parse(fs.readFileSync(path.join(out, 'meta.json'), 'utf8'))
    expect(meta.params).toMatchObject({ scheduler: 'euler', steps: 3, width: 128, height: 128 })
    const red = npyToFloat32(readNpy(fs.readFileSync(path.join(out, 'red.npy'))))
    expect(red.length).toBe(128 * 128)
    expect(Math.max(...red)).toBeGreaterThan(0.99)
  }, 120_000)
})
