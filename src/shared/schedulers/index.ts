/** Scheduler factory: a sampler by name, configured from a parsed scheduler_config.json. */
import type { SchedulerConfig } from './config'
import { DDIMScheduler } from './ddim'
import { DPMSolverPP2MScheduler } from './dpm-solver'
import { EulerScheduler } from './euler'
import { PNDMScheduler } from './pndm'
import { SCHEDULER_NAMES, type Scheduler, type SchedulerName } from './types'

export { parseSchedulerConfig, type SchedulerConfig } from './config'
export { SCHEDULER_NAMES, type NoiseFn, type Scheduler, type SchedulerName } from './types'

export interface SchedulerOptions {
  /** DDIM eta (0 = deterministic); defaults to the config's `eta` or 0. */
  eta?: number
}

export function isSchedulerName(s: string): s is SchedulerName {
  return (SCHEDULER_NAMES as readonly string[]).includes(s)
}

export function createScheduler(
  name: SchedulerName,
  cfg: SchedulerConfig,
  steps: number,
  opts: SchedulerOptions = {},
): Scheduler {
  switch (name) {
    case 'ddim':
      return new DDIMScheduler(cfg, steps, opts.eta ?? cfg.eta)
    case 'euler':
    case 'euler-a':
    case 'turbo':
      return new EulerScheduler(cfg, steps, name)
    case 'dpmpp-2m':
    case 'dpmpp-2m-karras':
      return new DPMSolverPP2MScheduler(cfg, steps, name)
    case 'pndm':
      return new PNDMScheduler(cfg, steps)
  }
}

/** The sampler a model folder asks for through its config's `_class_name`. */
export function defaultSchedulerName(cfg: SchedulerConfig): SchedulerName {
  switch (cfg.className) {
    case 'DDIMScheduler':
      return 'ddim'
    case 'EulerDiscreteScheduler':
      return cfg.timestepSpacing === 'trailing' ? 'turbo' : 'euler'
    case 'EulerAncestralDiscreteScheduler':
      return 'euler-a'
    case 'DPMSolverMultistepScheduler':
      return cfg.useKarrasSigmas ? 'dpmpp-2m-karras' : 'dpmpp-2m'
    default:
      return 'pndm'
  }
}
