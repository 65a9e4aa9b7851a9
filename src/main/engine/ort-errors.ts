/**
 * One place that recognises ONNX Runtime's (and the JS side's) allocation failures and turns them
 * into a plain-language AppError with code 'out-of-memory'. ORT reports them in several shapes,
 * all seen in practice: its arena's "Failed to allocate memory for requested buffer of size N"
 * (a 2048² run on the bundled model asks for 64 GiB in one piece), C++'s std::bad_alloc, the
 * allocators' "Out of memory", errno ENOMEM's "Cannot allocate memory", and V8's "Array buffer
 * allocation failed" when an output does not fit.
 * Callers: the generation runner (src/main/service/generator.ts), model loading (model.ts,
 * src/main/service/models.ts).
 */
import { AppError } from '../../shared/ipc/result'

const OOM_PATTERNS = [
  /Failed to allocate memory/i,
  /\bbad_alloc\b/,
  /\bout of memory\b/i,
  /Cannot allocate memory/i,
  /\bENOMEM\b/,
  /Array buffer allocation failed/i,
]

const GiB = 1024 ** 3

/** True when `error` is an allocation failure, whatever layer reported it. */
export function isOutOfMemory(error: unknown): boolean {
  const message = error instanceof Error ? error.message : String(error)
  return OOM_PATTERNS.some((re) => re.test(message))
}

/**
 * The AppError to show for an allocation failure, or null when `error` is something else.
 * `doing` says what ran ("generating a 1024×1024 image", "loading the model"); `hint` is advice
 * (e.g. the largest size that fits).
 */
export function outOfMemoryError(error: unknown, doing: string, hint?: string): AppError | null {
  if (error instanceof AppError && error.code === 'out-of-memory') return error
  if (!isOutOfMemory(error)) return null
  const message = error instanceof Error ? error.message : String(error)
  const size = /requested buffer of size (\d+)/.exec(message)
  const bytes = size ? Number(size[1]) : 0
  const piece =
    bytes > 0
      ? ` ONNX Runtime asked for ${bytes >= GiB ? `${(bytes / GiB).toFixed(bytes >= 10 * GiB ? 0 : 1)} GB` : `${Math.ceil(bytes / 1024 ** 2)} MB`} in one piece and the system refused.`
      : ''
  return new AppError(
    'out-of-memory',
    `Out of memory while ${doing}.${piece} ${hint ?? 'Try a smaller image size or close other programs.'}`,
  )
}
