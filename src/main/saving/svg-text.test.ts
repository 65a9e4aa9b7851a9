import sharp from 'sharp'
import { describe, expect, it } from 'vitest'
import { svgText } from './svg-text'

describe('svgText', () => {
  it('escapes markup and drops what XML forbids, keeping every other character', () => {
    expect(svgText(`a<b>&'"`)).toBe('a&lt;b&gt;&amp;&apos;&quot;')
    expect(svgText('models\u0000/etc\u0007x\uFFFF')).toBe('models/etcx')
    expect(svgText('\uD800lone \uD83D\uDE00 pair')).toBe('lone \uD83D\uDE00 pair')
    expect(svgText('tab\tnew\nline · é 雪')).toBe('tab\tnew\nline · é 雪')
  })

  it('gives captions librsvg can draw (a NUL in a word once made the time-lapse fail)', async () => {
    const caption = (t: string) =>
      Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="40" height="10"><text>${t}</text></svg>`)
    await expect(sharp(caption('hat\u0000/etc')).png().toBuffer()).rejects.toThrow()
    await expect(
      sharp(caption(svgText('hat\u0000/etc<&>')))
        .png()
        .toBuffer(),
    ).resolves.toBeInstanceOf(Buffer)
  })
})
