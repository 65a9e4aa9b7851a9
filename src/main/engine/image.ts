/**
 * Image side of the pipeline: decoded VAE output to RGB bytes and the cheap linear latent-to-RGB
 * preview. The PNG itself is written by src/main/saving/png.ts, the one PNG writer.
 */

/** VAE output [1, 3, H, W] in [-1, 1] -> interleaved RGB bytes, rounding as diffusers does. */
export function vaeOutputToRgb(data: Float32Array, width: number, height: number): Uint8Array {
  const plane = width * height
  if (data.length !== 3 * plane) {
    throw new Error(`VAE output has ${data.length} values, expected 3 x ${height} x ${width}`)
  }
  const rgb = new Uint8Array(plane * 3)
  for (let c = 0; c < 3; c++) {
    const base = c * plane
    for (let i = 0; i < plane; i++) {
      const v = Math.min(1, Math.max(0, data[base + i] / 2 + 0.5))
      rgb[i * 3 + c] = Math.round(v * 255)
    }
  }
  return rgb
}

/**
 * Linear latent -> RGB map: rgb = W^T [z; 1], W is 5 x 3 (4 channels + bias) for 4-channel
 * latents. Fitted per model by least squares from one small VAE decode (see fitPreviewMap), so it
 * works for any VAE rather than relying on constants measured for one model.
 */
export interface PreviewMap {
  channels: number
  /** (channels + 1) x 3, row-major. */
  weights: Float64Array
}

/** Solves the normal equations (A^T A) w = A^T b for each colour, by Gaussian elimination. */
export function fitPreviewMap(
  latent: Float32Array,
  channels: number,
  lh: number,
  lw: number,
  image: Float32Array,
  factor: number,
): PreviewMap {
  const k = channels + 1
  const ata = new Float64Array(k * k)
  const atb = new Float64Array(k * 3)
  const W = lw * factor
  const plane = lh * lw
  const iplane = lh * factor * W
  const row = new Float64Array(k)
  for (let y = 0; y < lh; y++) {
    for (let x = 0; x < lw; x++) {
      for (let c = 0; c < channels; c++) row[c] = latent[c * plane + y * lw + x]
      row[channels] = 1
      for (let col = 0; col < 3; col++) {
        // Mean of the factor x factor pixel block this latent cell decodes to, in [0, 1].
        let s = 0
        for (let dy = 0; dy < factor; dy++) {
          for (let dx = 0; dx < factor; dx++) s += image[col * iplane + (y * factor + dy) * W + x * factor + dx]
        }
        const target = s / (factor * factor) / 2 + 0.5
        for (let i = 0; i < k; i++) atb[i * 3 + col] += row[i] * target
      }
      for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) ata[i * k + j] += row[i] * row[j]
    }
  }
  // Small ridge term keeps the system well-posed.
  for (let i = 0; i < k; i++) ata[i * k + i] += 1e-6
  const weights = new Float64Array(k * 3)
  for (let col = 0; col < 3; col++) {
    const m = Float64Array.from(ata)
    const b = new Float64Array(k)
    for (let i = 0; i < k; i++) b[i] = atb[i * 3 + col]
    for (let p = 0; p < k; p++) {
      let piv = p
      for (let r = p + 1; r < k; r++) if (Math.abs(m[r * k + p]) > Math.abs(m[piv * k + p])) piv = r
      if (piv !== p) {
        for (let j = 0; j < k; j++) [m[p * k + j], m[piv * k + j]] = [m[piv * k + j], m[p * k + j]]
        ;[b[p], b[piv]] = [b[piv], b[p]]
      }
      for (let r = p + 1; r < k; r++) {
        const f = m[r * k + p] / m[p * k + p]
        for (let j = p; j < k; j++) m[r * k + j] -= f * m[p * k + j]
        b[r] -= f * b[p]
      }
    }
    for (let p = k - 1; p >= 0; p--) {
      let s = b[p]
      for (let j = p + 1; j < k; j++) s -= m[p * k + j] * weights[j * 3 + col]
      weights[p * 3 + col] = s / m[p * k + p]
    }
  }
  return { channels, weights }
}

/** Preview RGB bytes at latent resolution. */
export function previewRgb(map: PreviewMap, latent: Float32Array, lh: number, lw: number): Uint8Array {
  const { channels, weights } = map
  const plane = lh * lw
  const out = new Uint8Array(plane * 3)
  for (let i = 0; i < plane; i++) {
    for (let col = 0; col < 3; col++) {
      let v = weights[channels * 3 + col]
      for (let c = 0; c < channels; c++) v += latent[c * plane + i] * weights[c * 3 + col]
      out[i * 3 + col] = Math.round(Math.min(1, Math.max(0, v)) * 255)
    }
  }
  return out
}
