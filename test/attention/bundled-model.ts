/**
 * The bundled model (models/daam-shapes) loaded for the attention tests through the app's own
 * trace (src/main/attention/trace.ts), on 2 threads (the test machine's cores are shared). One
 * load per test file and hook variant: vitest isolates files, and the sessions go with the worker.
 */
import * as path from 'node:path'
import { loadTracedModel, type TracedModel } from '../../src/main/attention/trace'

export const BUNDLED = path.resolve(__dirname, '../../models/daam-shapes')

const loaded = new Map<boolean, Promise<TracedModel>>()

/** The bundled model with the hook; `negative` also taps the unconditional half. */
export function loadBundled(negative = false): Promise<TracedModel> {
  let p = loaded.get(negative)
  if (!p) loaded.set(negative, (p = loadTracedModel(BUNDLED, { negative, threads: 2 })))
  return p
}
