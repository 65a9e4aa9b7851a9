export { Engine } from './engine'
export { LoadedModel, validateSessions, type LoadOptions, type ModelIO, type ProviderChoice } from './model'
export { inspectModelFolder, ModelFolderError, type ModelFolder, type ModelFolderErrorCode } from './modelFolder'
export {
  runPipeline,
  resolveParams,
  describeParams,
  GenerationCancelledError,
  type GenerateOptions,
  type GenerationResult,
  type ResolvedParams,
  type UnetCallPart,
  type UnetOutputsCallback,
} from './pipeline'
export { ClipTokenizer } from './tokenizer'
