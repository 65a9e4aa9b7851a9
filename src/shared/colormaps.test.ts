import { describe, expect, it } from 'vitest'
import { colormapLut, COLORMAPS } from './colormaps'

describe('colour maps', () => {
  it('are 256-entry RGB tables with the expected ends', () => {
    for (const name of COLORMAPS) expect(colormapLut(name).length).toBe(768)
    const jet = colormapLut('jet')
    expect(Array.from(jet.subarray(0, 3))).toEqual([0, 0, 128]) // dark blue
    expect(Array.from(jet.subarray(765, 768))).toEqual([128, 0, 0]) // dark red
    expect(Array.from(colormapLut('viridis').subarray(765))).toEqual([0xfd, 0xe7, 0x25])
    expect(Array.from(colormapLut('inferno').subarray(0, 3))).toEqual([0, 0, 4])
  })
})
