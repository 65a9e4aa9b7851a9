/**
 * Issue 16 in the window: the overlay's "Method" choice (DAAM / Refined (self-attention)) and the
 * per-layer grid. With the bundled model: pick "hat", switch to the refined method (the canvas
 * changes), back to DAAM (the canvas is the DAAM overlay again, pixel for pixel); click one layer
 * cell of the grid (that layer alone is drawn), then "All layers" (back to the default).
 */
import { DEMO_PROMPT as DEMO } from '../src/shared/generation'
import { canvasPixels, differingFraction } from './support/canvas'
import { expect, launchApp, saveScreenshot, test } from './fixtures'

test.setTimeout(180_000)

test('choosing the refined method and one layer of the grid changes the overlay, and back', async () => {
  const app = await launchApp({ serviceOptions: { threads: 1, refinedMaps: true } })
  try {
    const page = app.page
    await page.getByTestId('model-detail').waitFor()
    await page.getByTestId('prompt').fill(DEMO)
    await page.getByTestId('steps').fill('10')
    await page.getByTestId('generate').click()
    const chips = page.getByTestId('word-chips')
    await chips.getByRole('button', { name: 'hat', exact: true }).click({ timeout: 60_000 })
    await expect(page.getByTestId('image-canvas')).toHaveAttribute('data-overlay', 'hat')
    const daam = await canvasPixels(page)

    const method = page.getByTestId('method')
    await expect(method).toHaveValue('daam')
    await method.selectOption('refined')
    await expect.poll(async () => differingFraction(daam, await canvasPixels(page), 0)).toBeGreaterThan(0.05)
    await saveScreenshot(page, `method-refined-${app.mode}`)
    await method.selectOption('daam')
    await expect.poll(async () => differingFraction(daam, await canvasPixels(page), 0)).toBe(0)

    const grid = page.getByTestId('layer-grid')
    await expect(grid).toBeVisible()
    const cells = grid.locator('.layer-cell')
    expect(await cells.count()).toBeGreaterThanOrEqual(3)
    await cells.first().click()
    await expect(cells.first()).toHaveAttribute('aria-pressed', 'true')
    await expect.poll(async () => differingFraction(daam, await canvasPixels(page), 0)).toBeGreaterThan(0.05)
    await saveScreenshot(page, `layer-grid-${app.mode}`)
    await grid.getByRole('button', { name: 'All layers' }).click()
    await expect.poll(async () => differingFraction(daam, await canvasPixels(page), 0)).toBe(0)
  } finally {
    await app.close()
  }
})
