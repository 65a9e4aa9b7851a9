/**
 * Word weights below 1 in the text embedding, not only in the attention (issue 17). Callers: the
 * pipeline (src/main/engine/pipeline.ts, once per text encoder and guidance half), and with it
 * knock-outs (weight 0) and everything that generates with `weights` or emphasis.
 *
 * Why: CLIP's text encoder is causal, so every token after a word has read it; scaling only the
 * word's own attention (patch-unet.ts `control`) leaves its meaning in the tokens after it (on the
 * bundled model `hat` after `red` carries the colour, and `red` at 0 removed the red on 0 of 20
 * seeds). So the prompt is encoded once more without the down-weighted word's tokens, the tokens
 * after it (which then sit further left) are realigned to their positions in the full prompt, and
 * each of them becomes lerp(embedding without the word, embedding with it, w). The word's own
 * tokens keep their embedding: their attention scale (w) already weakens them. Tokens before the
 * word are unchanged (causal encoder: they never saw it).
 *
 * Words at different weights below 1 get one extra encoding per distinct weight, and their changes
 * add up (first order): out = full + Σ_w (1 - w) · (without_w - full), each term only on the tokens
 * after that weight's first token and not its own. With one weight that is exactly the lerp above.
 * Weights above 1 change nothing here (only the attention scale raises them).
 */

/** Tokens of one distinct weight below 1, and the prompt's token ids without them. */
export interface DownweightGroup {
  weight: number
  /** Positions (in the full prompt, BOS = 0) of the tokens at this weight, ascending. */
  dropped: number[]
  /** The prompt's ids with `dropped` removed, shifted left, refilled at the end to the same length. */
  inputIds: number[]
  /** Positions before padding in `inputIds` (the prompt's own less the dropped tokens). */
  length: number
}

/**
 * The groups of a prompt's per-token scale (pipeline's tokenScale: 1 on BOS, EOS and padding),
 * ordered by weight; none when no token is below 1. The refill repeats the last id (padding, or EOS
 * when the prompt fills every position): the shifted tail is never read (see alignedBlend).
 */
export function downweightGroups(
  inputIds: readonly number[],
  scale: ArrayLike<number> | null,
  length = inputIds.length,
): DownweightGroup[] {
  if (!scale) return []
  if (scale.length !== inputIds.length) {
    throw new Error(`token scale has ${scale.length} values for ${inputIds.length} token ids`)
  }
  const byWeight = new Map<number, number[]>()
  for (let t = 0; t < scale.length; t++) {
    if (scale[t] < 1) byWeight.set(scale[t], [...(byWeight.get(scale[t]) ?? []), t])
  }
  return [...byWeight.entries()]
    .sort(([a], [b]) => a - b)
    .map(([weight, dropped]) => {
      const drop = new Set(dropped)
      const kept = inputIds.filter((_, t) => !drop.has(t))
      const fill = inputIds[inputIds.length - 1]
      while (kept.length < inputIds.length) kept.push(fill)
      return { weight, dropped, inputIds: kept, length: length - dropped.length }
    })
}

/**
 * One prompt's embedding [tokens, dim] with the groups' words down-weighted: `full` is the encoder
 * output for the full prompt, `without[g]` for groups[g].inputIds (same shape). Token j after a
 * group's first dropped token, and not one of them, sits at j - (dropped tokens before j) in the
 * encoding without them. Returns a new array; `full` is left as it is.
 */
export function alignedBlend(
  full: Float32Array,
  groups: readonly DownweightGroup[],
  without: readonly Float32Array[],
  dim: number,
): Float32Array {
  const out = full.slice()
  const tokens = full.length / dim
  groups.forEach((g, k) => {
    const w = without[k]
    if (w.length !== full.length)
      throw new Error(`embedding without tokens has ${w.length} values, expected ${full.length}`)
    const f = 1 - g.weight
    let shift = 0 // dropped tokens before j
    for (let j = g.dropped[0]; j < tokens; j++) {
      if (shift < g.dropped.length && g.dropped[shift] === j) {
        shift++
        continue
      }
      const o = j * dim
      const s = (j - shift) * dim
      for (let d = 0; d < dim; d++) out[o + d] += f * (w[s + d] - full[o + d])
    }
  })
  return out
}

/**
 * The down-weighted embeddings of a batch of prompts laid out as the encoder returns them
 * ([prompts, tokens, dim] in `full`), one scale per prompt (null = all ones); null when no prompt
 * has a weight below 1, so nothing is encoded again. `encode` runs the text encoder on a batch of
 * token-id lists (with their lengths before padding, which SDXL's second tokenizer re-pads from)
 * and returns their outputs in order (the pipeline's encodeConditioning).
 */
export async function downweightEmbeddings(
  encode: (prompts: { inputIds: number[]; length: number }[]) => Promise<Float32Array>,
  prompts: readonly { inputIds: readonly number[]; length: number }[],
  scales: readonly (ArrayLike<number> | null)[],
  full: Float32Array,
): Promise<Float32Array | null> {
  const groups = prompts.map((e, p) => downweightGroups(e.inputIds, scales[p], e.length))
  const extra = groups.flat()
  if (extra.length === 0) return null
  const per = full.length / prompts.length
  const dim = per / prompts[0].inputIds.length
  const encoded = await encode(extra.map((g) => ({ inputIds: g.inputIds, length: g.length })))
  const out = new Float32Array(full.length)
  let e = 0
  groups.forEach((gs, p) => {
    const without = gs.map((_, k) => encoded.subarray((e + k) * per, (e + k + 1) * per))
    e += gs.length
    out.set(alignedBlend(full.subarray(p * per, (p + 1) * per), gs, without, dim), p * per)
  })
  return out
}
