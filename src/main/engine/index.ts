export { Engine } from './engine'
export { LoadedModel, validateSessions, type LoadOptions, type ModelIO, type ProviderChoice } from './model'
export { inspectModelFolder, ModelFolderError, type ModelFolder, type ModelFolderErrorCode } from './model-folder'
export {
  runPipeline,
  resolveParams,
  describeParams,
  GenerationCancelledError,
  InvalidParamsError,
  type GenerateOptions,
  type GenerationEnd,
  type GenerationPlan,
  type GenerationResult,
  type PipelineObserver,
  type ResolvedParams,
  type UnetCall,
  type UnetCallPart,
} from './pipeline'
export { sessionOptions, type SessionSettings } from './session-options'
export { ClipTokenizer } from './tokenizer'
