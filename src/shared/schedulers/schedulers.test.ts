/**
 * Schedulers against reference values computed once with NumPy following diffusers' formulas
 * (test/fixtures/schedulers/make_fixtures.py -> reference.json).
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { createScheduler, parseSchedulerConfig, type SchedulerName } from './index'

interface Case {
  scheduler: SchedulerName
  config: Record<string, unknown>
  steps: number
  eta?: number
  timesteps: number[]
  sigmas?: number[]
  initNoiseSigma?: number
  outputs: number[][]
  scaled?: number[][]
}

const ref = JSON.parse(readFileSync(join(__dirname, '../../../test/fixtures/schedulers/reference.json'), 'utf8')) as {
  sample: number[]
  modelOutputs: number[][]
  noises: number[][]
  cases: Case[]
}

function expectClose(actual: ArrayLike<number>, expected: number[], tol: number, what: string): void {
  expect(actual.length, `${what}: length`).toBe(expected.length)
  for (let i = 0; i < expected.length; i++) {
    const err = Math.abs(actual[i] - expected[i])
    if (err > tol * Math.max(1, Math.abs(expected[i]))) {
      throw new Error(`${what}[${i}]: got ${actual[i]}, expected ${expected[i]} (|diff| ${err})`)
    }
  }
}

describe('schedulers match the NumPy/diffusers reference', () => {
  for (const c of ref.cases) {
    const spacing = String(c.config.timestep_spacing ?? '')
    const karras = c.config.use_karras_sigmas ? ' karras' : ''
    const vpred = c.config.prediction_type === 'v_prediction' ? ' v-prediction' : ''
    const betas = c.config.beta_schedule === 'linear' ? ' linear-betas' : ''
    const label = `${c.scheduler} ${spacing}${karras}${vpred}${betas} ${c.steps} steps${c.eta ? ` eta=${c.eta}` : ''}`
    it(label, () => {
      const cfg = parseSchedulerConfig(c.config)
      const s = createScheduler(c.scheduler, cfg, c.steps, { eta: c.eta })
      expectClose(s.timesteps, c.timesteps, 1e-9, 'timesteps')
      if (c.sigmas) expectClose(s.sigmas ?? [], c.sigmas, 1e-7, 'sigmas')
      if (c.initNoiseSigma !== undefined) expect(s.initNoiseSigma).toBeCloseTo(c.initNoiseSigma, 6)
      let x: Float32Array = Float32Array.from(ref.sample)
      let draws = 0
      const noise = (n: number) => {
        const z = Float32Array.from(ref.noises[draws++])
        expect(z.length).toBe(n)
        return z
      }
      c.outputs.forEach((expected, i) => {
        if (c.scaled) expectClose(s.scaleModelInput(x, i), c.scaled[i], 1e-5, `scaled input ${i}`)
        x = s.step(Float32Array.from(ref.modelOutputs[i]), i, x, noise)
        expectClose(x, expected, 1e-5, `sample after call ${i}`)
      })
    })
  }
})

describe('scheduler behaviour', () => {
  const sd15 = parseSchedulerConfig(ref.cases[0].config)

  it('PNDM with N steps makes N + 1 U-Net calls, repeating the second timestep', () => {
    const s = createScheduler('pndm', parseSchedulerConfig({ ...ref.cases[0].config, timestep_spacing: 'leading' }), 20)
    expect(s.timesteps.length).toBe(21)
    expect(Array.from(s.timesteps.subarray(0, 4))).toEqual([951, 901, 901, 851])
  })

  it('turbo is a single Euler call at t = 999', () => {
    const s = createScheduler('turbo', sd15, 30)
    expect(Array.from(s.timesteps)).toEqual([999])
    expect(s.sigmas?.[1]).toBe(0)
  })

  it('ancestral samplers demand a noise source', () => {
    const s = createScheduler('euler-a', sd15, 5)
    const x = new Float32Array(4)
    expect(() => s.step(x, 0, x)).toThrow(/noise source/)
  })

  it('rejects bad step counts and configs with the file name', () => {
    expect(() => createScheduler('ddim', sd15, 0)).toThrow(/steps must be an integer in 1\.\.1000/)
    expect(() => parseSchedulerConfig({ beta_schedule: 'cubic' }, '/m/scheduler/scheduler_config.json')).toThrow(
      /\/m\/scheduler\/scheduler_config\.json: invalid scheduler config at 'beta_schedule'/,
    )
    expect(() => createScheduler('pndm', sd15, 5).step(new Float32Array(2), 1, new Float32Array(2))).toThrow(/in order/)
  })
})
