import { createRequire } from 'node:module'
import { evaluateApi, expect, saveScreenshot, test } from './fixtures'

const ortVersion = (createRequire(__filename)('onnxruntime-node/package.json') as { version: string }).version

test('the app shell loads, shows its prompt box and reaches the real service', async ({ app, page }) => {
  const prompt = page.getByTestId('prompt')
  await expect(prompt).toBeVisible()
  await expect(prompt).toHaveAttribute('placeholder', 'a snowman wearing a red hat and a blue scarf around its neck')
  await expect(page.getByRole('heading', { name: 'DAAM Studio' })).toBeVisible()

  // getAppInfo went renderer -> window.api -> dispatcher -> AppService and back into the UI.
  await expect(page.getByTestId('ort-version')).toHaveText(ortVersion)
  await expect(page.getByTestId('model-badge')).toBeVisible()
  await saveScreenshot(page, `app-shell-${app.mode}`)

  await prompt.fill('a snowman wearing a red hat')
  await expect(page.getByRole('list', { name: 'Prompt words' }).getByRole('listitem')).toHaveText([
    'a',
    'snowman',
    'wearing',
    'a',
    'red',
    'hat',
  ])
})

test('window.api round trip: request, event and typed errors', async ({ page }) => {
  await expect(page.getByTestId('statusbar')).toBeVisible()
  const outcome = await evaluateApi(
    page,
    async (api, prompt) => {
      const info = await api.app.getInfo()
      const steps: number[] = []
      const off = api.on('generate:progress', (p) => steps.push(p.step))
      const generated = await api.generate.start({ params: { prompt, steps: 2, seed: 1 } })
      // Events are pushed separately from the reply; give the last one a moment.
      for (let i = 0; i < 50 && steps.length < 2; i++) await new Promise((r) => setTimeout(r, 20))
      off()
      const invalid = await api.model.load({ dir: 42 } as unknown as { dir: string })
      return { info: info.ok, generated: generated.ok, steps, invalid }
    },
    'a red hat',
  )
  expect(outcome.info).toBe(true)
  expect(outcome.generated).toBe(true)
  expect(outcome.steps).toEqual([1, 2])
  expect(outcome.invalid).toMatchObject({ ok: false, error: { code: 'invalid-request' } })
})

test('the page exposes window.api and no Node or Electron internals', async ({ page }) => {
  const globals = await page.evaluate(() => {
    const g = globalThis as Record<string, unknown>
    return { require: typeof g['require'], process: typeof g['process'], api: typeof g['api'] }
  })
  expect(globals).toEqual({ require: 'undefined', process: 'undefined', api: 'object' })
})
