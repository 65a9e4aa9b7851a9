/**
 * A minimal text-to-image loop over a model folder for the attention tests (tokenizer -> text
 * encoder -> DDIM with classifier-free guidance on the patched U-Net -> VAE decode). It exists so
 * the hook can be tested before/independently of the engine's pipeline; the engine delivers the
 * same `onUnetOutputs(step, timestep, outputs)` calls to the recorder.
 */
import * as fs from 'node:fs'
import * as path from 'node:path'
import * as ort from 'onnxruntime-node'
import { ClipTokenizer } from '../../src/main/engine/tokenizer'
import { createScheduler, parseSchedulerConfig } from '../../src/shared/schedulers'
import { gaussianNoise } from '../../src/shared/noise'
import { patchUnet, type UnetPatch } from '../../src/main/attention/patch-unet'
import { externalDataOptions } from '../../src/main/attention/session-options'
import { AttentionRecorder } from '../../src/main/attention/recorder'
import type { AttentionRecord } from '../../src/shared/attention-record'
import type { PromptEncoding } from '../../src/shared/tokenizer/words'

export const BUNDLED = path.resolve(__dirname, '../../models/daam-shapes')

export interface Generated {
  rgb: Uint8Array
  width: number
  height: number
  record: AttentionRecord
  encoding: PromptEncoding
  patch: UnetPatch
}

export class BundledModel {
  private constructor(
    readonly tokenizer: ClipTokenizer,
    readonly text: ort.InferenceSession,
    readonly unet: ort.InferenceSession,
    readonly vae: ort.InferenceSession | undefined,
    readonly patch: UnetPatch,
    readonly dir: string,
  ) {}

  static async load(dir = BUNDLED, negative = false): Promise<BundledModel> {
    const opts: ort.InferenceSession.SessionOptions = { intraOpNumThreads: 2, interOpNumThreads: 1 }
    const patch = patchUnet(fs.readFileSync(path.join(dir, 'unet', 'model.onnx')), { negative })
    const vaePath = path.join(dir, 'vae_decoder', 'model.onnx')
    return new BundledModel(
      new ClipTokenizer(path.join(dir, 'tokenizer')),
      await ort.InferenceSession.create(path.join(dir, 'text_encoder', 'model.onnx'), opts),
      await ort.InferenceSession.create(patch.model, { ...opts, ...externalDataOptions(path.join(dir, 'unet')) }),
      fs.existsSync(vaePath) ? await ort.InferenceSession.create(vaePath, opts) : undefined,
      patch,
      dir,
    )
  }

  async embed(enc: PromptEncoding): Promise<Float32Array> {
    const meta = this.text.inputMetadata[0]
    const name = this.text.inputNames[0]
    const ids =
      meta.isTensor && meta.type === 'int32'
        ? new ort.Tensor('int32', Int32Array.from(enc.inputIds), [1, enc.inputIds.length])
        : new ort.Tensor('int64', BigInt64Array.from(enc.inputIds.map(BigInt)), [1, enc.inputIds.length])
    const out = await this.text.run({ [name]: ids })
    return out[this.text.outputNames[0]].data as Float32Array
  }

  async generate(
    prompt: string,
    o: { seed: number; steps?: number; guidance?: number; latent?: number; negative?: string },
  ): Promise<Generated> {
    const steps = o.steps ?? 20
    const guidance = o.guidance ?? 5
    const lat = o.latent ?? 16
    const enc = this.tokenizer.encode(prompt)
    const neg = this.tokenizer.encode(o.negative ?? '')
    const cond = await this.embed(enc)
    const uncond = await this.embed(neg)
    const T = enc.inputIds.length
    const D = cond.length / T
    const ehs = new Float32Array(2 * T * D)
    ehs.set(uncond, 0)
    ehs.set(cond, T * D)
    const cfg = parseSchedulerConfig(
      JSON.parse(fs.readFileSync(path.join(this.dir, 'scheduler', 'scheduler_config.json'), 'utf8')),
    )
    const sched = createScheduler('ddim', cfg, steps)
    const n = 4 * lat * lat
    let x: Float32Array = gaussianNoise(o.seed, n).map((v) => v * sched.initNoiseSigma)
    const recorder = new AttentionRecorder({
      taps: this.patch.taps,
      latentHeight: lat,
      latentWidth: lat,
      steps,
      condTokens: enc.length,
      uncondTokens: this.patch.taps[0]?.uncondOutput ? neg.length : undefined,
    })
    const tMeta = this.unet.inputMetadata.find((m) => m.name === 'timestep')
    for (let i = 0; i < sched.timesteps.length; i++) {
      const t = sched.timesteps[i]
      const xin = sched.scaleModelInput(x, i)
      const batch = new Float32Array(2 * n)
      batch.set(xin, 0)
      batch.set(xin, n)
      const timestep =
        tMeta?.isTensor && tMeta.type === 'int64'
          ? new ort.Tensor('int64', BigInt64Array.from([BigInt(Math.round(t)), BigInt(Math.round(t))]), [2])
          : tMeta?.isTensor && tMeta.shape.length === 0
            ? new ort.Tensor('float32', Float32Array.from([t]), [])
            : new ort.Tensor('float32', Float32Array.from([t, t]), [2])
      const out = await this.unet.run({
        sample: new ort.Tensor('float32', batch, [2, 4, lat, lat]),
        timestep,
        encoder_hidden_states: new ort.Tensor('float32', ehs, [2, T, D]),
      })
      recorder.onUnetOutputs(i, t, out)
      const eps = out.out_sample.data as Float32Array
      const guided = new Float32Array(n)
      for (let k = 0; k < n; k++) guided[k] = eps[k] + guidance * (eps[n + k] - eps[k])
      x = sched.step(guided, i, x)
    }
    const record = recorder.finish()
    if (!this.vae) return { rgb: new Uint8Array(0), width: 0, height: 0, record, encoding: enc, patch: this.patch }
    const vcfg = JSON.parse(fs.readFileSync(path.join(this.dir, 'vae_decoder', 'config.json'), 'utf8')) as {
      scaling_factor?: number
    }
    const scale = vcfg.scaling_factor ?? 0.18215
    const img = await this.vae.run({
      [this.vae.inputNames[0]]: new ort.Tensor(
        'float32',
        x.map((v) => v / scale),
        [1, 4, lat, lat],
      ),
    })
    const px = img[this.vae.outputNames[0]]
    const [, , H, W] = px.dims
    const data = px.data as Float32Array
    const rgb = new Uint8Array(H * W * 3)
    for (let c = 0; c < 3; c++)
      for (let i = 0; i < H * W; i++) {
        rgb[i * 3 + c] = Math.max(0, Math.min(255, Math.round((data[c * H * W + i] + 1) * 127.5)))
      }
    return { rgb, width: W, height: H, record, encoding: enc, patch: this.patch }
  }
}
