/**
 * The result envelope every IPC call resolves to, and the error type service
 * code throws to choose an error code. Pure TypeScript: used by main, preload,
 * renderer and tests.
 */

/** Codes the IPC layer itself produces. Service code may use any other string. */
export type BuiltinErrorCode =
  | 'invalid-request' // payload failed the channel's zod schema
  | 'forbidden-sender' // call did not come from the app's own top-level frame
  | 'unknown-channel' // channel is not in the contract
  | 'transport' // the transport itself failed (process gone, serialization)
  | 'internal' // the service threw something that was not an AppError

// `string & {}` keeps editor completion for the builtin codes while allowing others.
export type ErrorCode =
  | BuiltinErrorCode
  | 'cancelled'
  | 'not-found'
  | 'busy'
  | 'engine-crashed' // the image engine's worker died; the message says why, the next request restarts it
  | (string & {})

export interface IpcError {
  code: ErrorCode
  message: string
}

export type Result<T> = { ok: true; value: T } | { ok: false; error: IpcError }

export function ok<T>(value: T): Result<T> {
  return { ok: true, value }
}

export function fail<T = never>(code: ErrorCode, message: string): Result<T> {
  return { ok: false, error: { code, message } }
}

/** Throw from service code to return `{ ok: false, error: { code, message } }`. */
export class AppError extends Error {
  readonly code: ErrorCode
  constructor(code: ErrorCode, message: string) {
    super(message)
    this.name = 'AppError'
    this.code = code
  }
}

/** Returns the value of a successful result, throws an `AppError` otherwise. */
export function unwrap<T>(result: Result<T>): T {
  if (result.ok) return result.value
  throw new AppError(result.error.code, result.error.message)
}

/** Checks that an unknown value has the shape of a `Result`. */
export function isResult(value: unknown): value is Result<unknown> {
  if (typeof value !== 'object' || value === null) return false
  const v = value as Record<string, unknown>
  if (v.ok === true) return 'value' in v
  if (v.ok !== false || typeof v.error !== 'object' || v.error === null) return false
  const e = v.error as Record<string, unknown>
  return typeof e.code === 'string' && typeof e.message === 'string'
}
