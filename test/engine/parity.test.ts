/**
 * Parity with the Python reference sampler (PyTorch, models/training) on the bundled model:
 * same prompt ids, same injected noise, DDIM eta 0, 20 steps, guidance 5. Fixtures come from the
 * model helper in test/fixtures/parity/caseN.{json,noise.npy,text_embeddings.npy,latents.npy,image.png}.
 *
 * Tolerances (float32 ORT vs float32 PyTorch eager, different kernels and summation order):
 *   token ids and timesteps: exact
 *   text embeddings: max |diff| <= 2e-5 x (1 + max |value|)
 *   final latents (before 1/scaling_factor): max |diff| <= 2e-4 x (1 + max |value|)
 *   decoded image: max |diff| <= 2 levels of 255, mean <= 0.1
 * Measured on the trained model (3 cases): text embeddings 1.4e-6, latents 2.4e-5 on values up to
 * 6.9, image max 1 level (rounding), mean 0.000.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import sharp from 'sharp'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { LoadedModel, runPipeline } from '../../src/main/engine'
import { npyToFloat32, readNpy } from '../../src/shared/npy'

const root = join(__dirname, '../..')
// PARITY_FIXTURES points the test at another fixture folder (e.g. freshly generated ones).
const fixtures = process.env.PARITY_FIXTURES ?? join(root, 'test/fixtures/parity')
const modelDir = join(root, 'models/daam-shapes')

const caseNames = existsSync(fixtures)
  ? readdirSync(fixtures)
      .filter((f) => /^case\d+\.json$/.test(f))
      .map((f) => f.replace(/\.json$/, ''))
      .sort()
  : []

interface CaseJson {
  prompt: string
  negative?: string
  negative_prompt?: string
  seed: number
  steps: number
  guidance?: number
  guidance_scale?: number
  scheduler: string
  eta?: number
  width: number
  height: number
  /** Conditional ids, [uncond, cond], or {cond, uncond}. */
  input_ids: number[] | number[][] | { cond: number[]; uncond: number[] }
  timesteps?: number[]
}

function stats(a: Float32Array | Uint8Array, b: Float32Array | Uint8Array) {
  let max = 0
  let sum = 0
  let scale = 0
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i])
    max = Math.max(max, d)
    sum += d
    scale = Math.max(scale, Math.abs(b[i]))
  }
  return { max, mean: sum / a.length, scale }
}

let model: LoadedModel

describe('parity with the Python reference sampler', () => {
  it('has fixtures and the bundled model to compare against', () => {
    expect(caseNames.length, `no parity fixtures in ${fixtures}`).toBeGreaterThan(0)
    expect(existsSync(join(modelDir, 'model_index.json')), `bundled model missing at ${modelDir}`).toBe(true)
  })

  beforeAll(async () => {
    if (caseNames.length > 0 && existsSync(modelDir)) model = await LoadedModel.load(modelDir)
  }, 60_000)
  afterAll(async () => {
    await model?.release()
  })

  for (const name of caseNames) {
    it(
      name,
      async () => {
        const c = JSON.parse(readFileSync(join(fixtures, `${name}.json`), 'utf8')) as CaseJson
        const negative = c.negative ?? c.negative_prompt ?? ''
        const noise = npyToFloat32(readNpy(readFileSync(join(fixtures, `${name}.noise.npy`))))
        const guidance = c.guidance ?? c.guidance_scale ?? NaN
        const timesteps: number[] = []
        const r = await runPipeline(
          model,
          {
            prompt: c.prompt,
            negativePrompt: negative,
            seed: c.seed,
            steps: c.steps,
            guidance,
            scheduler: c.scheduler as 'ddim',
            eta: c.eta ?? 0,
            width: c.width,
            height: c.height,
          },
          { initialNoise: noise, observers: [{ step: (call) => timesteps.push(call.timestep) }] },
        )
        if (c.timesteps) expect(timesteps).toEqual(c.timesteps)

        // Token ids: the fixture holds the conditional ids, [uncond, cond] or {cond, uncond}.
        const ids = c.input_ids
        if (!Array.isArray(ids)) {
          expect(r.negativeEncoding?.inputIds).toEqual(ids.uncond)
          expect(r.encoding.inputIds).toEqual(ids.cond)
        } else if (Array.isArray(ids[0])) {
          const [u, k] = ids as number[][]
          expect(r.negativeEncoding?.inputIds).toEqual(u)
          expect(r.encoding.inputIds).toEqual(k)
        } else if ((ids as number[]).length === 2 * r.encoding.inputIds.length) {
          expect([...(r.negativeEncoding?.inputIds ?? []), ...r.encoding.inputIds]).toEqual(ids)
        } else {
          expect(r.encoding.inputIds).toEqual(ids)
        }

        const emb = readNpy(readFileSync(join(fixtures, `${name}.text_embeddings.npy`)))
        expect(emb.shape).toEqual(r.textEmbeddingsShape)
        const e = stats(r.textEmbeddings, npyToFloat32(emb))

        const lat = readNpy(readFileSync(join(fixtures, `${name}.latents.npy`)))
        expect(lat.shape).toEqual(r.latentShape)
        const l = stats(r.latents, npyToFloat32(lat))

        const png = await sharp(readFileSync(join(fixtures, `${name}.image.png`)))
          .removeAlpha()
          .raw()
          .toBuffer({ resolveWithObject: true })
        expect([png.info.width, png.info.height]).toEqual([r.width, r.height])
        const im = stats(r.rgb, new Uint8Array(png.data))

        console.log(
          `${name}: text emb max|d| ${e.max.toExponential(2)} (scale ${e.scale.toFixed(2)}), latents max|d| ${l.max.toExponential(2)} ` +
            `(scale ${l.scale.toFixed(2)}), image max|d| ${im.max} mean ${im.mean.toFixed(3)} levels`,
        )
        expect(e.max).toBeLessThanOrEqual(2e-5 * (1 + e.scale))
        expect(l.max).toBeLessThanOrEqual(2e-4 * (1 + l.scale))
        expect(im.max).toBeLessThanOrEqual(2)
        expect(im.mean).toBeLessThanOrEqual(0.1)
      },
      120_000,
    )
  }
})
