/**
 * Tokenizer: ids agree with the Python CLIP-format tokenizer that trains the bundled model
 * (models/training/tokenizer.py), and every typed word maps to exactly its own token positions.
 */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { ClipTokenizer } from './tokenizer'
import { findWord, preTokenize, wordAt } from '../../shared/tokenizer'

const WORDS = ['a', 'red', 'blue', 'circle', 'square', 'cat', 'on', 'the', 'left', 'of', 'and', 'photo', 'big']
const PROMPTS = [
  'a red circle',
  'A  RED\tcircle, and a blue square.',
  'a cat on the left of a concatenated catalogue',
  "don't stop-believing!!! 42 cats",
  'photo of a big red circle '.repeat(8),
]

let dir: string
let pyIds: number[][]

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'tok-'))
  const script = `
import json, sys
sys.path.insert(0, 'models/training')
from tokenizer import Tokenizer
tok = Tokenizer.from_words(json.loads(sys.argv[1]))
tok.save(sys.argv[2])
print(json.dumps([tok(p) for p in json.loads(sys.argv[3])]))
`
  const out = execFileSync('python3', ['-c', script, JSON.stringify(WORDS), dir, JSON.stringify(PROMPTS)], {
    cwd: join(__dirname, '../../..'),
  }).toString()
  pyIds = JSON.parse(out) as number[][]
}, 60_000)

describe('ClipTokenizer', () => {
  it('gives the same ids as the Python tokenizer that trained the model', () => {
    const tok = new ClipTokenizer(dir)
    PROMPTS.forEach((p, i) => expect(tok.encode(p).inputIds, p).toEqual(pyIds[i]))
  })

  it('reads tokenizer.json when a folder has no vocab.json / merges.txt', () => {
    const viaFiles = new ClipTokenizer(dir)
    const tjDir = mkdtempSync(join(tmpdir(), 'tokjson-'))
    const vocab = JSON.parse(execFileSync('cat', [join(dir, 'vocab.json')]).toString()) as Record<string, number>
    const merges = execFileSync('cat', [join(dir, 'merges.txt')])
      .toString()
      .split('\n')
      .slice(1)
      .filter(Boolean)
    writeFileSync(join(tjDir, 'tokenizer.json'), JSON.stringify({ model: { type: 'BPE', vocab, merges } }))
    const viaJson = new ClipTokenizer(tjDir)
    for (const p of PROMPTS) expect(viaJson.encode(p).inputIds).toEqual(viaFiles.encode(p).inputIds)
  })

  it('maps each typed word to its own tokens: multi-token, repeated, punctuation', () => {
    const tok = new ClipTokenizer(dir)
    const prompt = 'A red circle, a concatenated cat!'
    const e = tok.encode(prompt)
    expect(e.words.map((w) => [w.text, w.kind])).toEqual([
      ['A', 'word'],
      ['red', 'word'],
      ['circle', 'word'],
      [',', 'punct'],
      ['a', 'word'],
      ['concatenated', 'word'],
      ['cat', 'word'],
      ['!', 'punct'],
    ])
    for (const w of e.words) expect(prompt.slice(w.start, w.end)).toBe(w.text)
    // Known words are one token; "concatenated" is not in the vocabulary and takes several.
    const byText = (t: string) => e.words.filter((w) => w.text === t)[0]
    expect(byText('red').tokenIndices).toEqual([2])
    expect(byText('concatenated').tokenIndices.length).toBeGreaterThan(1)
    // The tokens of all words tile positions 1..length-2 exactly once, in order.
    const all = e.words.flatMap((w) => w.tokenIndices)
    expect(all).toEqual(Array.from({ length: e.length - 2 }, (_, i) => i + 1))
    // Token strings of "concatenated" spell the word (with CLIP's end-of-word marker).
    expect(
      byText('concatenated')
        .tokenIndices.map((i) => e.tokens[i])
        .join(''),
    ).toBe('concatenated</w>')
    // Whole-word search: "cat" is not found inside "concatenated"; "a" matches both "A" and "a".
    expect(findWord(e, 'cat').map((w) => w.index)).toEqual([6])
    expect(findWord(e, 'a').map((w) => w.text)).toEqual(['A', 'a'])
    expect(findWord(e, 'CAT')[0].tokenIndices).not.toEqual(findWord(e, 'a')[0].tokenIndices)
    expect(wordAt(e, prompt.indexOf('circle') + 2)?.text).toBe('circle')
  })

  it('handles unicode, emoji and combining marks with offsets into the typed text', () => {
    const tok = new ClipTokenizer(dir)
    const prompt = 'Cafe\u0301 🐱 naïve ŒUVRE'
    const e = tok.encode(prompt)
    expect(e.words.map((w) => w.text)).toEqual(['Cafe\u0301', '🐱', 'naïve', 'ŒUVRE'])
    for (const w of e.words) {
      expect(prompt.slice(w.start, w.end)).toBe(w.text)
      expect(w.tokenIndices.length).toBeGreaterThan(0)
    }
    // NFC: the decomposed "é" is one letter, so "café" is one piece.
    expect(preTokenize('Cafe\u0301').map((p) => p.text)).toEqual(['café'])
    // The emoji is byte-level encoded (4 UTF-8 bytes -> 4 byte symbols at most).
    expect(e.words[1].tokenIndices.length).toBeLessThanOrEqual(4)
  })

  it('truncates overlong prompts to 77 positions and lists the dropped words', () => {
    const tok = new ClipTokenizer(dir)
    const prompt = Array.from({ length: 100 }, (_, i) => (i % 2 ? 'red' : 'circle')).join(' ')
    const e = tok.encode(prompt)
    expect(e.inputIds.length).toBe(77)
    expect(e.length).toBe(77)
    expect(e.truncated).toBe(true)
    expect(e.inputIds[76]).toBe(tok.special.eosId)
    expect(e.words.filter((w) => w.tokenIndices.length > 0).length).toBe(75)
    expect(e.droppedWords.length).toBe(25)
    expect(e.droppedWords[0].start).toBe(e.words[75].start)
    const short = tok.encode('red circle')
    expect(short.truncated).toBe(false)
    expect(short.droppedWords).toEqual([])
    // SD 1.x style: padding is EOS.
    expect(short.inputIds.slice(short.length)).toEqual(Array(77 - short.length).fill(tok.special.eosId))
  })

  it('pads with the configured pad token (SD 2.x style) and reports a missing tokenizer', () => {
    const padDir = mkdtempSync(join(tmpdir(), 'tokpad-'))
    for (const f of ['vocab.json', 'merges.txt']) writeFileSync(join(padDir, f), execFileSync('cat', [join(dir, f)]))
    writeFileSync(join(padDir, 'special_tokens_map.json'), JSON.stringify({ pad_token: '!' }))
    const tok = new ClipTokenizer(padDir)
    expect(tok.special.padId).toBe(0)
    const e = tok.encode('red')
    expect(e.inputIds.slice(e.length)).toEqual(Array(77 - e.length).fill(0))
    expect(() => new ClipTokenizer(join(padDir, 'nope'))).toThrow(/tokenizer missing: .*nope does not exist/)
    expect(() => new ClipTokenizer(mkdtempSync(join(tmpdir(), 'empty-')))).toThrow(
      /neither vocab\.json \+ merges\.txt nor tokenizer\.json/,
    )
  })
})
