import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { generationFolderName, isWindowsDeviceName, safeStem, StemSet, STEM_MAX_BYTES } from './file-names'

/** What Windows, macOS and Linux refuse or mangle in a file name (with its extension added). */
function portableProblem(name: string): string | null {
  if (name.length === 0) return 'empty'
  if (/[<>:"/\\|?*]/.test(name)) return 'forbidden character'
  if (/\p{Cc}|\p{Cf}|\p{Co}|\p{Cs}/u.test(name)) return 'control or invisible character'
  if (/[. ]$/.test(name)) return 'trailing dot or space'
  if (name.startsWith('.') || name.startsWith(' ')) return 'leading dot or space'
  if (isWindowsDeviceName(name.split('.')[0]!)) return 'Windows device name'
  if (Buffer.byteLength(name) > 255) return 'too long'
  return null
}

describe('safeStem', () => {
  it('keeps words readable', () => {
    expect(safeStem('hat')).toBe('hat')
    expect(safeStem('Red Hat')).toBe('red-hat')
    expect(safeStem('Snowman!')).toBe('snowman')
    expect(safeStem('café')).toBe('café')
    expect(safeStem('雪だるま')).toBe('雪だるま')
    expect(safeStem('ＨＡＴ')).toBe('hat') // full-width letters fold
    expect(safeStem('red_hat')).toBe('red-hat')
  })

  it('drops characters Windows forbids, control characters, dots and spaces at the ends', () => {
    expect(safeStem('hat.')).toBe('hat')
    expect(safeStem('hat. ')).toBe('hat')
    expect(safeStem(' .hidden')).toBe('hidden')
    expect(safeStem('a<b>c:d"e/f\\g|h?i*j')).toBe('a-b-c-d-e-f-g-h-i-j')
    expect(safeStem('tab\there\u0000nul\u001fend')).toBe('tab-here-nul-end')
    expect(safeStem('..')).toBe('word')
    expect(safeStem('', 'overlay')).toBe('overlay')
    expect(safeStem('!!!', 'overlay')).toBe('overlay')
    expect(safeStem('\u202eevil')).toBe('evil') // bidi override
  })

  it('never yields a Windows device name, in any case, with or without extension', () => {
    for (const name of ['con', 'CON', 'Prn', 'aux', 'nul', 'NUL.txt', 'com1', 'COM9', 'lpt1', 'LPT5', 'com¹', 'nul.']) {
      const stem = safeStem(name)
      expect(isWindowsDeviceName(stem), `${name} -> ${stem}`).toBe(false)
      expect(portableProblem(`${stem}.overlay.png`)).toBeNull()
    }
    expect(safeStem('con')).toBe('con-word')
    expect(safeStem('nul.txt')).toBe('nul-txt')
    expect(safeStem('console')).toBe('console') // only exact device names are reserved
  })

  it('cuts long text at a whole code point within the byte budget', () => {
    expect(Buffer.byteLength(safeStem('x'.repeat(500)))).toBe(STEM_MAX_BYTES)
    const emoji = safeStem('雪'.repeat(100))
    expect(Buffer.byteLength(emoji)).toBeLessThanOrEqual(STEM_MAX_BYTES)
    expect(emoji).toBe('雪'.repeat(20))
    expect(safeStem('a '.repeat(100), 'word', 10)).toBe('a-a-a-a-a') // no trailing '-'
    expect(safeStem('a snowman wearing a red hat and a blue scarf around its neck', 'word', 48)).toBe(
      'a-snowman-wearing-a-red-hat-and-a-blue-scarf',
    ) // at a word break
    expect(safeStem('ab-' + 'c'.repeat(40), 'word', 20)).toBe('ab-' + 'c'.repeat(17)) // no break late enough
  })

  it('is always portable (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 300 }), fc.integer({ min: 8, max: 120 }), (text, max) => {
        const stem = safeStem(text, 'word', max)
        expect(Buffer.byteLength(stem)).toBeLessThanOrEqual(Math.max(max, Buffer.byteLength('word')) + 5)
        expect(stem).toBe(stem.toLowerCase())
        expect(portableProblem(stem)).toBeNull()
        expect(portableProblem(`${stem}.overlay.png`)).toBeNull()
        expect(safeStem(stem, 'word', max)).toBe(stem) // idempotent
      }),
      { numRuns: 2000 },
    )
  })

  it('makes names the file system accepts and reads back unchanged (property)', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'daam-names-'))
    try {
      fc.assert(
        fc.property(fc.string({ unit: 'grapheme', maxLength: 80 }), (text) => {
          const name = `${safeStem(text)}.npy`
          fs.writeFileSync(path.join(dir, name), '')
          expect(fs.readdirSync(dir)).toContain(name)
          fs.rmSync(path.join(dir, name))
        }),
        { numRuns: 200 },
      )
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe('StemSet', () => {
  it('keeps reserved names for the writer and de-duplicates repeats with -2, -3', () => {
    const stems = new StemSet(['image', 'grid', 'composite', 'meta'])
    expect(stems.take('composite')).toBe('composite-2')
    expect(stems.take('Image')).toBe('image-2')
    expect(stems.take('hat')).toBe('hat')
    expect(stems.take('HAT')).toBe('hat-2')
    expect(stems.take('hat!')).toBe('hat-3')
    expect(stems.take('hat', { prefix: 'neg-' })).toBe('neg-hat')
    expect(stems.take('con')).toBe('con-word')
    expect(stems.take('con')).toBe('con-word-2')
  })

  it('hands out distinct portable stems that avoid the reserved ones (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ maxLength: 100 }), { maxLength: 40 }), (texts) => {
        const reserved = ['image', 'grid', 'composite', 'meta', 'raw']
        const stems = new StemSet(reserved)
        const out = texts.map((t) => stems.take(t))
        expect(new Set(out).size).toBe(out.length)
        for (const s of out) {
          expect(reserved).not.toContain(s)
          expect(Buffer.byteLength(s)).toBeLessThanOrEqual(STEM_MAX_BYTES)
          expect(portableProblem(`${s}.overlay.png`)).toBeNull()
        }
      }),
    )
  })
})

describe('generationFolderName', () => {
  it('names the folder after the prompt, seed and generation id', () => {
    expect(generationFolderName('a snowman wearing a red hat', 3, '20261130-151742-123-abcdef')).toBe(
      'a-snowman-wearing-a-red-hat-3-20261130-151742-123-abcdef',
    )
    expect(generationFolderName('CON', 1, 'x')).toBe('con-generation-1-x')
    expect(portableProblem(generationFolderName('é'.repeat(300), 42, '20261130-151742-123-abcdef'))).toBeNull()
  })
})
