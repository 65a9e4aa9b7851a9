/**
 * The SDXL contract pieces on their own (sdxl.ts, tokenizer.ts repad/differenceFrom), on the tiny
 * SDXL fixture's real graphs and tokenizers; the whole pipeline is tested in test/engine/sdxl.test.ts.
 */
import * as path from 'node:path'
import * as ort from 'onnxruntime-node'
import { afterAll, describe, expect, it } from 'vitest'
import { sessionOptions } from './session-options'
import { concatLastAxis, penultimateOutput, sdxlFeeds, timeIds } from './sdxl'
import { ClipTokenizer } from './tokenizer'

const FIXTURE = path.resolve(__dirname, '../../../test/fixtures/sdxl-tiny')
const BUNDLED = path.resolve(__dirname, '../../../models/daam-shapes')

describe('SDXL conditioning helpers', () => {
  const sessions: ort.InferenceSession[] = []
  afterAll(() => Promise.all(sessions.map((s) => s.release())))
  const open = async (p: string) => {
    const s = await ort.InferenceSession.create(path.join(FIXTURE, p, 'model.onnx'), sessionOptions({ threads: 1 }))
    sessions.push(s)
    return s
  }

  it('picks hidden_states.{N-1} of N layers, and refuses an encoder without hidden states', async () => {
    expect(penultimateOutput(await open('text_encoder'), 'te')).toBe('hidden_states.2')
    expect(penultimateOutput(await open('text_encoder_2'), 'te2')).toBe('hidden_states.2')
    const bundled = await ort.InferenceSession.create(path.join(BUNDLED, 'text_encoder', 'model.onnx'))
    sessions.push(bundled)
    expect(() => penultimateOutput(bundled, '/m/text_encoder/model.onnx')).toThrow(
      /\/m\/text_encoder\/model.onnx does not output its hidden states .*it has last_hidden_state, pooler_output/,
    )
  })

  it('concatenates [rows, D1] and [rows, D2] per row', () => {
    const a = Float32Array.of(1, 2, 3, 4) // 2 rows x 2
    const b = Float32Array.of(10, 20, 30, 40, 50, 60) // 2 rows x 3
    expect(Array.from(concatLastAxis(a, 2, b, 3))).toEqual([1, 2, 10, 20, 30, 3, 4, 40, 50, 60])
    expect(() => concatLastAxis(a, 2, b.subarray(1), 3)).toThrow(/text encoder outputs disagree/)
  })

  it('time_ids are (height, width, 0, 0, height, width); feeds pick the halves a call carries', () => {
    expect(Array.from(timeIds(1024, 768))).toEqual([768, 1024, 0, 0, 768, 1024])
    const meta = (name: string) => ({ name, type: 'float32' as const, shape: ['batch_size', 0] })
    const io = { textEmbeds: meta('text_embeds'), timeIds: meta('time_ids') }
    const pooled = Float32Array.of(1, 1, 1, 2, 2, 2) // [uncond, cond] x 3
    const both = sdxlFeeds(io, pooled, 2, [0, 1], 64, 32)
    expect(both.text_embeds.dims).toEqual([2, 3])
    expect(Array.from(both.text_embeds.data as Float32Array)).toEqual([1, 1, 1, 2, 2, 2])
    expect(Array.from(both.time_ids.data as Float32Array)).toEqual([32, 64, 0, 0, 32, 64, 32, 64, 0, 0, 32, 64])
    const cond = sdxlFeeds(io, pooled, 2, [1], 64, 32)
    expect(cond.text_embeds.dims).toEqual([1, 3])
    expect(Array.from(cond.text_embeds.data as Float32Array)).toEqual([2, 2, 2])
  })
})

describe('tokenizer_2 beside tokenizer/', () => {
  const first = new ClipTokenizer(path.join(FIXTURE, 'tokenizer'))
  const second = new ClipTokenizer(path.join(FIXTURE, 'tokenizer_2'))

  it('shares the vocabulary, pads with its own "!" after the first EOS', () => {
    expect(first.differenceFrom(second)).toBeUndefined()
    const enc = first.encode('a red circle')
    expect(enc.length).toBe(5)
    const ids = second.repad(enc)
    expect(ids.slice(0, 5)).toEqual(enc.inputIds.slice(0, 5))
    expect(ids.slice(5).every((id) => id === 0)).toBe(true)
    expect(enc.inputIds.slice(5).every((id) => id === first.special.eosId)).toBe(true)
    // the same as encoding with tokenizer_2 itself
    expect(second.encode('a red circle').inputIds).toEqual(ids)
  })
})
