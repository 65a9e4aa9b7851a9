import path from 'node:path'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { SERVICE_OPTIONS_ENV, testOverridesFromEnv, USER_DATA_DIR_ENV } from './options'

describe('test-only environment overrides', () => {
  it('are honoured in a development build (the e2e tests)', () => {
    const r = testOverridesFromEnv(
      {
        [SERVICE_OPTIONS_ENV]: '{"modelsDir":"/m","userDataDir":"/u","threads":2,"future":1}',
        [USER_DATA_DIR_ENV]: 'ud',
      },
      false,
    )
    expect(r.service).toEqual({ modelsDir: '/m', userDataDir: '/u', threads: 2, future: 1 })
    expect(r.userDataDir).toBe(path.resolve('ud'))
    expect(r.warnings).toEqual([])
  })

  it('are ignored, with a warning, in a packaged build', () => {
    const r = testOverridesFromEnv({ [SERVICE_OPTIONS_ENV]: '{"modelsDir":"/m"}', [USER_DATA_DIR_ENV]: '/tmp/x' }, true)
    expect(r.service).toEqual({})
    expect(r.userDataDir).toBeUndefined()
    expect(r.warnings).toHaveLength(2)
    expect(r.warnings[0]).toMatch(/ignored in a packaged build/)
    expect(testOverridesFromEnv({}, true)).toEqual({ service: {}, warnings: [] })
  })

  it('drop malformed values and wrong-typed keys with a warning instead of throwing', () => {
    for (const bad of ['{', '[1]', 'null', '"x"', '42']) {
      const r = testOverridesFromEnv({ [SERVICE_OPTIONS_ENV]: bad }, false)
      expect(r.service).toEqual({})
      expect(r.warnings[0]).toMatch(/DAAM_SERVICE_OPTIONS ignored/)
    }
    const r = testOverridesFromEnv({ [SERVICE_OPTIONS_ENV]: '{"modelsDir":5,"threads":-1,"appName":"A"}' }, false)
    expect(r.service).toEqual({ appName: 'A' })
    expect(r.warnings).toHaveLength(2)
    expect(testOverridesFromEnv({ [USER_DATA_DIR_ENV]: '  ' }, false).userDataDir).toBeUndefined()
    // found by the property below: a "__proto__" key (own, from JSON.parse) once threw
    const proto = testOverridesFromEnv({ [SERVICE_OPTIONS_ENV]: '{"__proto__":[],"constructor":1,"threads":2}' }, false)
    expect(proto.service).toEqual({ threads: 2 })
    expect(Object.hasOwn(proto.service, '__proto__')).toBe(false)
    expect(proto.warnings).toHaveLength(2)
  })

  it('never throw, whatever the environment holds (property)', () => {
    fc.assert(
      fc.property(
        fc.option(fc.oneof(fc.string(), fc.json()), { nil: undefined }),
        fc.option(fc.string(), { nil: undefined }),
        fc.boolean(),
        (options, userData, packaged) => {
          const env: NodeJS.ProcessEnv = {}
          if (options !== undefined) env[SERVICE_OPTIONS_ENV] = options
          if (userData !== undefined) env[USER_DATA_DIR_ENV] = userData
          const r = testOverridesFromEnv(env, packaged)
          expect(Array.isArray(r.warnings)).toBe(true)
          if (packaged) expect(r.service).toEqual({})
        },
      ),
      { numRuns: 1000 },
    )
  })
})
