export { preTokenize, normalizeWithOffsets, CLIP_SPLIT, type PreToken } from './pretokenize'
export {
  assembleEncoding,
  findWord,
  groupWords,
  wordAt,
  type PromptEncoding,
  type PromptWord,
  type SpecialTokens,
  type WordKind,
} from './word-spans'
