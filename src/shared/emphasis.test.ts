import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { EmphasisError, parseEmphasis, parseWeightList } from './emphasis'

const w = (prompt: string) => {
  const p = parseEmphasis(prompt)
  return { text: p.text, spans: p.spans.map((s) => [p.text.slice(s.start, s.end), +s.weight.toFixed(6)]) }
}

describe('parseEmphasis', () => {
  it('reads the usual forms and removes their syntax', () => {
    expect(w('a (red) hat')).toEqual({ text: 'a red hat', spans: [['red', 1.1]] })
    expect(w('a [red] hat')).toEqual({ text: 'a red hat', spans: [['red', +(1 / 1.1).toFixed(6)]] })
    expect(w('a (red hat:1.5) and scarf')).toEqual({ text: 'a red hat and scarf', spans: [['red hat', 1.5]] })
    expect(w('(red:0) hat')).toEqual({ text: 'red hat', spans: [['red', 0]] })
    expect(w('a ((red)) hat')).toEqual({ text: 'a red hat', spans: [['red', 1.21]] })
    expect(w('((a red:2) hat)')).toEqual({
      text: 'a red hat',
      spans: [
        ['a red', 2.2],
        [' hat', 1.1],
      ],
    })
  })
  it('keeps escaped and unmatched brackets as text; an unclosed opener runs to the end', () => {
    expect(w('a \\(red\\) hat')).toEqual({ text: 'a (red) hat', spans: [] })
    expect(w('a red) hat]')).toEqual({ text: 'a red) hat]', spans: [] })
    expect(w('a (red hat')).toEqual({ text: 'a red hat', spans: [['red hat', 1.1]] })
    expect(w('smile :) (x:1.2)')).toEqual({ text: 'smile :) x', spans: [['x', 1.2]] })
    expect(w('([x)]')).toEqual({ text: 'x)', spans: [] }) // [x)] / 1.1 inside an unclosed ( x 1.1
  })
  it('rejects explicit weights outside 0..3 with the place named, clamps nested products', () => {
    expect(() => parseEmphasis('a (red:5) hat')).toThrow(EmphasisError)
    expect(() => parseEmphasis('a (red:5) hat')).toThrow(/5 .*outside 0\.\.3/)
    expect(w('(((((((((((((x)))))))))))))').spans).toEqual([['x', 3]])
  })
  it('never throws on text without weights, and the cleaned text only loses syntax characters', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom('a', ' ', '(', ')', '[', ']', '\\', ':', '1') }), (s) => {
        let p
        try {
          p = parseEmphasis(s)
        } catch (e) {
          expect(e).toBeInstanceOf(EmphasisError)
          return
        }
        expect(p.text.length).toBeLessThanOrEqual(s.length)
        for (const sp of p.spans) {
          expect(sp.start).toBeLessThan(sp.end)
          expect(sp.end).toBeLessThanOrEqual(p.text.length)
          expect(sp.weight).toBeGreaterThanOrEqual(0)
          expect(sp.weight).toBeLessThanOrEqual(3)
        }
        // plain letters pass through in order; spaces may go, but only with weight syntax
        // (`(word: 1.3)`: the space after the colon belongs to the weight, as in A1111)
        expect(p.text.replace(/[^a]/g, '')).toBe(s.replace(/[^a]/g, ''))
        expect(p.text.replace(/[^ ]/g, '').length).toBeLessThanOrEqual(s.replace(/[^ ]/g, '').length)
        if (!s.includes(':')) expect(p.text.replace(/[^a ]/g, '')).toBe(s.replace(/[^a ]/g, ''))
      }),
    )
  })
})

describe('parseWeightList', () => {
  it('parses word=weight lists and names the bad item', () => {
    expect(parseWeightList('hat=1.5, Scarf=0')).toEqual({ hat: 1.5, scarf: 0 })
    expect(() => parseWeightList('hat')).toThrow(/bad word weight 'hat'/)
    expect(() => parseWeightList('hat=x')).toThrow(/bad word weight/)
    expect(() => parseWeightList('hat=4')).toThrow(/outside 0\.\.3/)
  })
})
