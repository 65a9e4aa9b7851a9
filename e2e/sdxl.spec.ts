/**
 * SDXL in the app: the tiny SDXL-shaped fixture (test/fixtures/sdxl-tiny, Optimum's layout) opened
 * through "Open model folder…", named SDXL by the model picker, then generate -> word chips ->
 * click a word -> its map over the image, with a negative prompt.
 */
import path from 'node:path'
import { canvasPixels, differingFraction } from './support/canvas'
import { expect, ROOT, saveScreenshot, test } from './fixtures'

const SDXL_TINY = path.join(ROOT, 'test', 'fixtures', 'sdxl-tiny')

test.use({ appOptions: { serviceOptions: { threads: 1, dialogAnswers: { openModel: SDXL_TINY } } } })
test.setTimeout(120_000)

test('an SDXL folder loads, generates and shows word maps', async ({ app, page }) => {
  await expect(page.getByTestId('model-detail')).toBeVisible()
  await page.getByTestId('model-badge').click()
  await page.getByTestId('open-model').click()
  await expect(page.getByTestId('model-badge')).toContainText('sdxl-tiny', { timeout: 60_000 })
  await expect(page.getByTestId('model-detail')).toContainText('SDXL · 128×128')
  await expect(page.getByTestId('model-detail')).toContainText('28 attention layers')

  await page.getByTestId('prompt').fill('a red circle')
  await page.getByTestId('negative-prompt').fill('blue square')
  await page.getByTestId('steps').fill('6')
  await page.getByTestId('generate').click()
  const chips = page.getByTestId('word-chips')
  await expect(chips.getByRole('button', { name: 'circle', exact: true })).toBeVisible({ timeout: 60_000 })
  await expect(page.getByTestId('history-item')).toHaveCount(1)

  const plain = await canvasPixels(page)
  expect(plain.width).toBe(128)
  await chips.getByRole('button', { name: 'red', exact: true }).click()
  await expect(page.getByTestId('image-canvas')).toHaveAttribute('data-overlay', 'red')
  const shown = await canvasPixels(page)
  expect(differingFraction(plain, shown)).toBeGreaterThan(0.5)
  await saveScreenshot(page, `sdxl-word-red-${app.mode}`)
})
