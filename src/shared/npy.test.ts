import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { float16ToFloat32, float32ToFloat16, fromHalf, toHalf } from './float16'
import { npyToFloat32, readNpy, writeNpy } from './npy'

function hasNumpy(): boolean {
  try {
    execFileSync('python3', ['-c', 'import numpy'], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

describe('npy', () => {
  it('round-trips float32, float16, int64 and uint8 arrays', () => {
    const f = Float32Array.from([1.5, -2, 3.25, 0, 1e-3, 7])
    const back = readNpy(writeNpy(f, [2, 3]))
    expect(back.dtype).toBe('float32')
    expect(back.shape).toEqual([2, 3])
    expect(back.data).toEqual(f)
    const h = float32ToFloat16(f)
    expect(npyToFloat32(readNpy(writeNpy(h, [6])))).toEqual(float16ToFloat32(h))
    const ids = BigInt64Array.from([49406n, 320n, 49407n])
    expect(readNpy(writeNpy(ids, [1, 3])).data).toEqual(ids)
    expect(readNpy(writeNpy(Uint8Array.from([1, 2]), [2])).dtype).toBe('uint8')
  })

  it('interoperates with NumPy in both directions', () => {
    if (!hasNumpy()) throw new Error('python3 with numpy is required for this test')
    const dir = mkdtempSync(join(tmpdir(), 'npy-'))
    writeFileSync(join(dir, 'a.npy'), writeNpy(Float32Array.from([0.5, -1, 2, 4]), [2, 2]))
    const out = execFileSync('python3', [
      '-c',
      `import numpy as np,sys
a=np.load(sys.argv[1]); print(a.dtype, a.shape, a.sum())
np.save(sys.argv[2], np.arange(6, dtype=np.float16).reshape(3,2)/4)
np.save(sys.argv[3], np.array([[1,2,3]], dtype=np.int64))`,
      join(dir, 'a.npy'),
      join(dir, 'b.npy'),
      join(dir, 'c.npy'),
    ]).toString()
    expect(out.trim()).toBe('float32 (2, 2) 5.5')
    const b = readNpy(readFileSync(join(dir, 'b.npy')))
    expect(b.dtype).toBe('float16')
    expect(b.shape).toEqual([3, 2])
    expect(Array.from(npyToFloat32(b))).toEqual([0, 0.25, 0.5, 0.75, 1, 1.25])
    expect(readNpy(readFileSync(join(dir, 'c.npy'))).data).toEqual(BigInt64Array.from([1n, 2n, 3n]))
  })

  it('gives clear errors', () => {
    expect(() => readNpy(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]))).toThrow(/not a \.npy file/)
    expect(() => writeNpy(new Float32Array(3), [2, 2])).toThrow(/holds 4 values but data has 3/)
    const bytes = writeNpy(new Float32Array(4), [4])
    expect(() => readNpy(bytes.subarray(0, bytes.length - 4))).toThrow(/truncated/)
  })
})

describe('float16', () => {
  it('rounds to nearest even and handles subnormals, infinities and NaN', () => {
    expect(toHalf(1)).toBe(0x3c00)
    expect(toHalf(-2)).toBe(0xc000)
    expect(toHalf(65504)).toBe(0x7bff)
    expect(toHalf(65520)).toBe(0x7c00) // rounds up to Inf
    expect(toHalf(2 ** -24)).toBe(0x0001) // smallest subnormal
    expect(toHalf(2 ** -26)).toBe(0x0000)
    expect(toHalf(1 + 2 ** -11)).toBe(0x3c00) // tie -> even
    expect(toHalf(1 + 3 * 2 ** -11)).toBe(0x3c02) // tie -> even (up)
    expect(Number.isNaN(fromHalf(toHalf(NaN)))).toBe(true)
    expect(fromHalf(0x7c00)).toBe(Infinity)
    // Every finite half value survives a round trip exactly.
    for (let h = 0; h < 0x7c00; h += 7) expect(toHalf(fromHalf(h))).toBe(h)
  })
})
