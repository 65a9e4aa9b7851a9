/**
 * CLIP tokenizer for a model folder: loads `vocab.json` + `merges.txt` (or `tokenizer.json`),
 * runs CLIP's clean-up and pre-tokenization (src/shared/tokenizer, which keeps character offsets)
 * and byte-pair encodes each piece with @huggingface/tokenizers' BPE model. Only the glue is here.
 */
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers'
import { MAX_CONFIG_BYTES, MAX_TOKENIZER_BYTES, readRegularFile } from './model-folder'
import { assembleEncoding, preTokenize, type PromptEncoding, type SpecialTokens } from '../../shared/tokenizer'

const BOS = '<|startoftext|>'
const EOS = '<|endoftext|>'

function readJson(path: string, maxBytes: number): unknown {
  let text: string
  try {
    text = readRegularFile(path, maxBytes)
  } catch (e) {
    throw new Error(`cannot read ${path}: ${(e as Error).message}`)
  }
  try {
    return JSON.parse(text)
  } catch (e) {
    throw new Error(`${path} is not valid JSON: ${(e as Error).message}`)
  }
}

/** A special token entry is either a string or {content: string}. */
function tokenContent(v: unknown): string | undefined {
  if (typeof v === 'string') return v
  if (v && typeof v === 'object' && typeof (v as { content?: unknown }).content === 'string') {
    return (v as { content: string }).content
  }
  return undefined
}

interface BpeModel {
  vocab: Record<string, number>
  merges: string[] | [string, string][]
}

/** Where a folder's BPE tables come from: vocab.json + merges.txt, or the model of tokenizer.json. */
function loadBpe(dir: string): BpeModel {
  const vocabPath = join(dir, 'vocab.json')
  const mergesPath = join(dir, 'merges.txt')
  const tjPath = join(dir, 'tokenizer.json')
  if (existsSync(vocabPath) && existsSync(mergesPath)) {
    const vocab = readJson(vocabPath, MAX_TOKENIZER_BYTES)
    if (!vocab || typeof vocab !== 'object' || Array.isArray(vocab))
      throw new Error(`${vocabPath}: expected an object of token -> id`)
    let text: string
    try {
      text = readRegularFile(mergesPath, MAX_TOKENIZER_BYTES)
    } catch (e) {
      throw new Error(`cannot read ${mergesPath}: ${(e as Error).message}`)
    }
    const lines = text.split('\n')
    // The first line is a "#version" header; blank lines are ignored.
    const merges = lines.filter((l, i) => !(i === 0 && l.startsWith('#')) && l.trim().length > 0)
    for (const [i, m] of merges.entries()) {
      if (m.split(' ').length !== 2) throw new Error(`${mergesPath}: line ${i + 2} is not a pair of symbols: '${m}'`)
    }
    return { vocab: vocab as Record<string, number>, merges }
  }
  if (existsSync(tjPath)) {
    const tj = readJson(tjPath, MAX_TOKENIZER_BYTES) as { model?: { type?: string; vocab?: unknown; merges?: unknown } }
    if (tj.model?.type !== 'BPE' || !tj.model.vocab || !Array.isArray(tj.model.merges)) {
      throw new Error(`${tjPath}: expected a BPE model with vocab and merges`)
    }
    return { vocab: tj.model.vocab as Record<string, number>, merges: tj.model.merges as string[] }
  }
  throw new Error(`tokenizer missing: ${dir} has neither vocab.json + merges.txt nor tokenizer.json`)
}

export class ClipTokenizer {
  private readonly bpe: HfTokenizer
  private readonly vocab: Record<string, number>
  readonly special: SpecialTokens
  private readonly cache = new Map<string, { ids: number[]; tokens: string[] }>()

  /** `maxLength` overrides the config (e.g. from the text encoder's static input shape). */
  constructor(
    readonly dir: string,
    maxLength?: number,
  ) {
    if (!existsSync(dir)) throw new Error(`tokenizer missing: ${dir} does not exist`)
    const { vocab, merges } = loadBpe(dir)
    this.vocab = vocab
    const cfgPath = join(dir, 'tokenizer_config.json')
    const mapPath = join(dir, 'special_tokens_map.json')
    const cfg = (existsSync(cfgPath) ? readJson(cfgPath, MAX_CONFIG_BYTES) : {}) as Record<string, unknown>
    const map = (existsSync(mapPath) ? readJson(mapPath, MAX_CONFIG_BYTES) : {}) as Record<string, unknown>
    const pick = (key: string, fallback: string) => tokenContent(map[key]) ?? tokenContent(cfg[key]) ?? fallback
    const bosToken = pick('bos_token', BOS)
    const eosToken = pick('eos_token', EOS)
    // SD 1.x pads with EOS; SD 2.x / Turbo name "!" (id 0) as pad_token.
    const padToken = pick('pad_token', eosToken)
    const id = (tok: string, what: string) => {
      const v = vocab[tok]
      if (typeof v !== 'number') throw new Error(`${dir}: ${what} '${tok}' is not in the vocabulary`)
      return v
    }
    const cfgMax = typeof cfg.model_max_length === 'number' && cfg.model_max_length <= 4096 ? cfg.model_max_length : 77
    this.special = {
      bosId: id(bosToken, 'bos_token'),
      eosId: id(eosToken, 'eos_token'),
      padId: id(padToken, 'pad_token'),
      bosToken,
      eosToken,
      padToken,
      maxLength: maxLength ?? cfgMax,
    }
    // Normalisation and splitting are done by preTokenize (to keep offsets), so the library gets
    // one pre-token at a time and only maps bytes to unicode and applies the merges.
    this.bpe = new HfTokenizer(
      {
        version: '1.0',
        added_tokens: [],
        normalizer: null,
        pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false },
        post_processor: null,
        decoder: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false },
        model: {
          type: 'BPE',
          dropout: null,
          unk_token: eosToken,
          continuing_subword_prefix: '',
          end_of_word_suffix: '</w>',
          fuse_unk: false,
          vocab,
          merges,
        },
      },
      { model_max_length: this.special.maxLength },
    )
  }

  /** BPE ids and token strings of one pre-token. */
  private encodePiece(piece: string): { ids: number[]; tokens: string[] } {
    const hit = this.cache.get(piece)
    if (hit) return hit
    let r: { ids: number[]; tokens: string[] }
    if (piece === this.special.bosToken || piece === this.special.eosToken) {
      r = { ids: [this.vocab[piece]], tokens: [piece] }
    } else {
      const enc = this.bpe.encode(piece, { add_special_tokens: false })
      r = { ids: enc.ids, tokens: enc.tokens }
    }
    this.cache.set(piece, r)
    return r
  }

  /**
   * Why `other` cannot share this tokenizer's ids (SDXL's tokenizer_2 against tokenizer/), or
   * undefined when it can: same vocabulary, BOS, EOS and length; only the pad token may differ.
   */
  differenceFrom(other: ClipTokenizer): string | undefined {
    const a = this.vocab
    const b = other.vocab
    const keys = Object.keys(a)
    if (keys.length !== Object.keys(b).length)
      return `vocabularies of ${keys.length} and ${Object.keys(b).length} tokens`
    const differing = keys.find((k) => a[k] !== b[k])
    if (differing !== undefined) return `token '${differing}' has id ${a[differing]} vs ${b[differing]}`
    const s = this.special
    const o = other.special
    if (s.bosId !== o.bosId || s.eosId !== o.eosId) return `BOS/EOS ids ${s.bosId}/${s.eosId} vs ${o.bosId}/${o.eosId}`
    if (s.maxLength !== o.maxLength) return `${s.maxLength} vs ${o.maxLength} tokens`
    return undefined
  }

  /**
   * The ids `encoding` (made by a tokenizer with the same vocabulary, see differenceFrom) has under
   * this tokenizer: the same up to the first EOS, this tokenizer's pad token after it.
   */
  repad(encoding: Pick<PromptEncoding, 'inputIds' | 'length'>): number[] {
    return encoding.inputIds.map((id, i) => (i < encoding.length ? id : this.special.padId))
  }

  encode(prompt: string): PromptEncoding {
    const pieces = preTokenize(prompt)
    const enc = pieces.map((p) => this.encodePiece(p.text))
    return assembleEncoding(
      prompt,
      pieces,
      enc.map((e) => e.ids),
      enc.map((e) => e.tokens),
      this.special,
    )
  }
}
