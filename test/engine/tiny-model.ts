/**
 * Writes tiny but complete diffusers-ONNX model folders for engine tests: a text encoder
 * (embedding lookup), a U-Net-shaped graph (1x1 conv + timestep and text terms) and a VAE decoder
 * (1x1 conv, x8 nearest upsampling, tanh), with configs, a character-level CLIP-format tokenizer
 * and an SD 1.5 scheduler config. Options produce the broken variants the validation must catch.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { onnx } from 'onnx-proto'

const FLOAT = onnx.TensorProto.DataType.FLOAT
const INT64 = onnx.TensorProto.DataType.INT64

export interface TinyOptions {
  /** Text width D of the text encoder. */
  textDim?: number
  /** Width the U-Net's encoder_hidden_states declares (static), to build a mismatch. */
  unetTextDim?: number
  /** Latent channels declared by the U-Net's sample input (static when set). */
  unetChannels?: number
  /** Rename the U-Net inputs (e.g. to break 'encoder_hidden_states'). */
  unetInputNames?: [string, string, string]
  /** Batch dimension of the U-Net fixed at 1. */
  unetBatch1?: boolean
  /** timestep input: int64 [B] (default), float32 [B], a float32 scalar, or int64 fixed at [1]. */
  timestep?: 'int64' | 'float' | 'scalar' | 'int64-fixed1'
  /** input_ids as int32 instead of int64. */
  idsInt32?: boolean
  /** Text encoder batch dimension fixed at 1. */
  textBatch1?: boolean
  /** Store the U-Net's weights in an external file `weights.pb`. */
  externalData?: boolean
  /** SDXL's extra U-Net inputs (text_embeds [B, 1280], time_ids [B, 6]), unused by the graph. */
  sdxlInputs?: boolean
  /** Pixels per latent cell of the VAE decoder (default 8). */
  vaeScale?: number
  /** Write no vae_decoder/config.json (diffusers' own conversion script writes none). */
  noVaeConfig?: boolean
}

function rng(seed: number): () => number {
  let s = seed >>> 0
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0
    return s / 4294967296 - 0.5
  }
}

type Dim = number | string

function valueInfo(name: string, elemType: number, dims: Dim[] | null): onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType,
        shape:
          dims === null
            ? undefined
            : { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  }
}

function floatInit(name: string, dims: number[], values: Float32Array): onnx.ITensorProto {
  return { name, dims, dataType: FLOAT, rawData: new Uint8Array(values.buffer.slice(0)) }
}

function intInit(name: string, values: number[]): onnx.ITensorProto {
  return {
    name,
    dims: [values.length],
    dataType: INT64,
    rawData: new Uint8Array(new BigInt64Array(values.map(BigInt)).buffer),
  }
}

function model(graph: onnx.IGraphProto): Uint8Array {
  return onnx.ModelProto.encode({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 13 }],
    producerName: 'daam-tiny-test',
    graph,
  }).finish()
}

function randomWeights(n: number, seed: number, scale: number): Float32Array {
  const r = rng(seed)
  const a = new Float32Array(n)
  for (let i = 0; i < n; i++) a[i] = r() * scale
  return a
}

export function textEncoderModel(vocabSize: number, D: number, idsInt32 = false, batch1 = false): Uint8Array {
  const B: Dim = batch1 ? 1 : 'batch'
  const nodes: onnx.INodeProto[] = []
  let ids = 'input_ids'
  if (idsInt32) {
    nodes.push({
      opType: 'Cast',
      input: ['input_ids'],
      output: ['ids64'],
      attribute: [{ name: 'to', type: onnx.AttributeProto.AttributeType.INT, i: INT64 }],
    })
    ids = 'ids64'
  }
  nodes.push({
    opType: 'Gather',
    input: ['emb', ids],
    output: ['last_hidden_state'],
    attribute: [{ name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: 0 }],
  })
  return model({
    name: 'text_encoder',
    node: nodes,
    initializer: [floatInit('emb', [vocabSize, D], randomWeights(vocabSize * D, 7, 2))],
    input: [valueInfo('input_ids', idsInt32 ? onnx.TensorProto.DataType.INT32 : INT64, [B, 77])],
    output: [valueInfo('last_hidden_state', FLOAT, [B, 77, D])],
  })
}

/** out = conv1x1(sample) + 0.001 * t + mean(encoder_hidden_states) + tanh(ehs . w) per position. */
export function unetModel(C: number, o: TinyOptions = {}, externalDir?: string): Uint8Array {
  const [nSample, nT, nEhs] = o.unetInputNames ?? ['sample', 'timestep', 'encoder_hidden_states']
  const B: Dim = o.unetBatch1 ? 1 : 'batch'
  const ATTR = onnx.AttributeProto.AttributeType
  const inC = o.unetChannels ?? C
  const w = randomWeights(C * inC, 11, 0.8)
  for (let c = 0; c < C; c++) w[c * inC + c] += 0.5
  const inits: onnx.ITensorProto[] = [
    floatInit('conv_w', [C, inC, 1, 1], w),
    floatInit('tscale', [], Float32Array.of(0.001)),
    intInit('shape4', [-1, 1, 1, 1]),
  ]
  if (externalDir) {
    // Move conv_w into weights.pb (ORT resolves it relative to the model's folder).
    const bytes = Buffer.from(w.buffer.slice(0))
    writeFileSync(join(externalDir, 'weights.pb'), bytes)
    inits[0] = {
      name: 'conv_w',
      dims: [C, inC, 1, 1],
      dataType: FLOAT,
      dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
      externalData: [
        { key: 'location', value: 'weights.pb' },
        { key: 'offset', value: '0' },
        { key: 'length', value: String(bytes.length) },
      ],
    }
  }
  const scalarT = o.timestep === 'scalar'
  const nodes: onnx.INodeProto[] = [
    { opType: 'Conv', input: [nSample, 'conv_w'], output: ['conv'] },
    { opType: 'Cast', input: [nT], output: ['tf'], attribute: [{ name: 'to', type: ATTR.INT, i: FLOAT }] },
    { opType: 'Mul', input: ['tf', 'tscale'], output: ['ts'] },
    // A scalar timestep broadcasts as is; a [B] one becomes [B,1,1,1].
    ...(scalarT ? [] : [{ opType: 'Reshape', input: ['ts', 'shape4'], output: ['t4'] }]),
    {
      opType: 'ReduceMean',
      input: [nEhs],
      output: ['em'],
      attribute: [
        { name: 'axes', type: ATTR.INTS, ints: [1, 2] },
        { name: 'keepdims', type: ATTR.INT, i: 1 },
      ],
    },
    { opType: 'Reshape', input: ['em', 'shape4'], output: ['e4'] },
    { opType: 'Add', input: ['conv', scalarT ? 'ts' : 't4'], output: ['a1'] },
    { opType: 'Add', input: ['a1', 'e4'], output: ['out_sample'] },
  ]
  const tIn =
    o.timestep === 'float'
      ? valueInfo(nT, FLOAT, [B])
      : scalarT
        ? valueInfo(nT, FLOAT, [])
        : valueInfo(nT, INT64, [o.timestep === 'int64-fixed1' ? 1 : B])
  return model({
    name: 'unet',
    node: nodes,
    initializer: inits,
    input: [
      valueInfo(nSample, FLOAT, [B, o.unetChannels ?? 'channels', 'height', 'width']),
      tIn,
      valueInfo(nEhs, FLOAT, [B, 77, o.unetTextDim ?? 'text_dim']),
      ...(o.sdxlInputs ? [valueInfo('text_embeds', FLOAT, [B, 1280]), valueInfo('time_ids', FLOAT, [B, 6])] : []),
    ],
    output: [valueInfo('out_sample', FLOAT, [B, C, 'height', 'width'])],
  })
}

export function vaeDecoderModel(C: number, scale = 8): Uint8Array {
  const ATTR = onnx.AttributeProto.AttributeType
  return model({
    name: 'vae_decoder',
    node: [
      { opType: 'Conv', input: ['latent_sample', 'w'], output: ['rgb'] },
      {
        opType: 'Resize',
        input: ['rgb', '', 'scales'],
        output: ['up'],
        attribute: [{ name: 'mode', type: ATTR.STRING, s: new TextEncoder().encode('nearest') }],
      },
      { opType: 'Tanh', input: ['up'], output: ['sample'] },
    ],
    initializer: [
      floatInit('w', [3, C, 1, 1], randomWeights(3 * C, 5, 1.2)),
      floatInit('scales', [4], Float32Array.of(1, 1, scale, scale)),
    ],
    input: [valueInfo('latent_sample', FLOAT, ['batch', C, 'height', 'width'])],
    output: [valueInfo('sample', FLOAT, ['batch', 3, 'h8', 'w8'])],
  })
}

/** GPT-2/CLIP byte -> unicode table (printable bytes map to themselves, others to 256+). */
function byteChars(): string[] {
  const bs: number[] = []
  for (let b = 33; b <= 126; b++) bs.push(b)
  for (let b = 161; b <= 172; b++) bs.push(b)
  for (let b = 174; b <= 255; b++) bs.push(b)
  const map = new Map<number, string>()
  let n = 0
  for (let b = 0; b < 256; b++) {
    if (bs.includes(b)) map.set(b, String.fromCodePoint(b))
    else map.set(b, String.fromCodePoint(256 + n++))
  }
  return Array.from({ length: 256 }, (_, b) => map.get(b)!)
}

/** Character-level CLIP-format tokenizer plus merges for a few whole words. */
export function writeTokenizer(dir: string, words: string[] = ['red', 'circle', 'blue', 'square', 'cat']): number {
  mkdirSync(dir, { recursive: true })
  const chars = byteChars()
  const vocab: Record<string, number> = {}
  for (const c of chars) vocab[c] = Object.keys(vocab).length
  for (const c of chars) vocab[`${c}</w>`] = Object.keys(vocab).length
  const merges: string[] = []
  for (const w of words) {
    // Left-to-right merges: r e -> re, re d</w> -> red</w>
    let cur = w[0]
    for (let i = 1; i < w.length; i++) {
      const next = i === w.length - 1 ? `${w[i]}</w>` : w[i]
      merges.push(`${cur} ${next}`)
      cur = cur + next
      if (vocab[cur] === undefined) vocab[cur] = Object.keys(vocab).length
    }
  }
  vocab['<|startoftext|>'] = Object.keys(vocab).length
  vocab['<|endoftext|>'] = Object.keys(vocab).length
  writeFileSync(join(dir, 'vocab.json'), JSON.stringify(vocab))
  writeFileSync(join(dir, 'merges.txt'), `#version: 0.2\n${merges.join('\n')}\n`)
  writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify({ model_max_length: 77 }))
  writeFileSync(
    join(dir, 'special_tokens_map.json'),
    JSON.stringify({ bos_token: '<|startoftext|>', eos_token: '<|endoftext|>', pad_token: '<|endoftext|>' }),
  )
  return Object.keys(vocab).length
}

export const SD15_SCHEDULER = {
  _class_name: 'PNDMScheduler',
  num_train_timesteps: 1000,
  beta_start: 0.00085,
  beta_end: 0.012,
  beta_schedule: 'scaled_linear',
  prediction_type: 'epsilon',
  steps_offset: 1,
  timestep_spacing: 'leading',
  skip_prk_steps: true,
  set_alpha_to_one: false,
  clip_sample: false,
}

/** Writes a complete tiny model folder and returns its path. Default image size 64x64, multiple 16. */
export function writeTinyModel(o: TinyOptions = {}, dir = mkdtempSync(join(tmpdir(), 'tiny-model-'))): string {
  const C = 4
  const D = o.textDim ?? 8
  for (const sub of ['text_encoder', 'unet', 'vae_decoder', 'scheduler']) mkdirSync(join(dir, sub), { recursive: true })
  const vocabSize = writeTokenizer(join(dir, 'tokenizer'))
  writeFileSync(
    join(dir, 'model_index.json'),
    JSON.stringify({ _class_name: 'OnnxStableDiffusionPipeline', _diffusers_version: '0.30.0' }),
  )
  writeFileSync(join(dir, 'text_encoder', 'model.onnx'), textEncoderModel(vocabSize, D, o.idsInt32, o.textBatch1))
  writeFileSync(join(dir, 'text_encoder', 'config.json'), JSON.stringify({ hidden_size: D }))
  writeFileSync(join(dir, 'unet', 'model.onnx'), unetModel(C, o, o.externalData ? join(dir, 'unet') : undefined))
  writeFileSync(
    join(dir, 'unet', 'config.json'),
    JSON.stringify({
      sample_size: 8,
      in_channels: o.unetChannels ?? C,
      cross_attention_dim: o.unetTextDim ?? D,
      block_out_channels: [8, 16],
    }),
  )
  writeFileSync(join(dir, 'vae_decoder', 'model.onnx'), vaeDecoderModel(C, o.vaeScale))
  if (!o.noVaeConfig) {
    const blocks = Array<number>(Math.log2(o.vaeScale ?? 8) + 1).fill(8)
    writeFileSync(
      join(dir, 'vae_decoder', 'config.json'),
      JSON.stringify({ scaling_factor: 0.5, latent_channels: C, block_out_channels: blocks }),
    )
  }
  writeFileSync(join(dir, 'scheduler', 'scheduler_config.json'), JSON.stringify(SD15_SCHEDULER))
  return dir
}
