/**
 * Issue 16 in the window: the overlay's "Method" choice and the per-layer grid. With the bundled
 * model:
 *  - the image-guided method, offered with no extra recording: pick "scarf", choose it, and the
 *    map read back from the screen covers the scarf (colour-keyed) better than DAAM's did; the
 *    maps of all words (and the per-layer grid's) are precomputed by the renderer's worker and a
 *    click draws the same pixels from them; the mask view and Save all words use it too; back to DAAM is the DAAM overlay pixel for pixel;
 *  - with the refinedMaps recording: pick "hat", switch to the refined method (the canvas
 *    changes), back to DAAM; click one layer cell of the grid (that layer alone is drawn), then
 *    "All layers" (back to the default).
 */
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { DEMO_PROMPT as DEMO } from '../src/shared/generation'
import { iou, thresholdMask } from '../src/shared/heatmap/masks'
import { colourMask } from '../scripts/colour-key'
import { canvasPixels, differingFraction, rgbOf, shownWordMap } from './support/canvas'
import { expect, launchApp, saveScreenshot, test } from './fixtures'

test.setTimeout(180_000)

test('the image-guided method is offered without extra recording and snaps the map to the scarf', async () => {
  const saveDir = fs.mkdtempSync(path.join(os.tmpdir(), 'daam-e2e-guided-'))
  const app = await launchApp({ serviceOptions: { threads: 1, dialogAnswers: { chooseFolder: saveDir } } })
  try {
    const page = app.page
    await page.getByTestId('model-detail').waitFor()
    await page.getByTestId('prompt').fill(DEMO)
    await page.getByTestId('steps').fill('20')
    await page.getByTestId('generate').click()
    const chips = page.getByTestId('word-chips')
    await expect(chips.getByRole('button')).toHaveText(DEMO.split(' '), { timeout: 60_000 })
    await expect(page.getByTestId('history-item')).toHaveCount(1)
    const plain = await canvasPixels(page)
    const scarfTruth = colourMask(rgbOf(plain), 'blue')
    expect(scarfTruth.some((v) => v)).toBe(true)

    await chips.getByRole('button', { name: 'scarf', exact: true }).click()
    await expect(page.getByTestId('image-canvas')).toHaveAttribute('data-overlay', 'scarf')
    const daam = await canvasPixels(page)
    const method = page.getByTestId('method')
    await expect(method).toHaveValue('daam')
    // no refined recording: DAAM and the image-guided method only
    expect(await method.locator('option').evaluateAll((os) => os.map((o) => (o as { value: string }).value))).toEqual([
      'daam',
      'guided',
    ])
    await method.selectOption('guided')
    await expect.poll(async () => differingFraction(daam, await canvasPixels(page), 0)).toBeGreaterThan(0.02)
    const guided = await canvasPixels(page)
    // the per-layer grid shows the layers' guided maps too, from the worker
    await expect(page.getByTestId('layer-grid')).toHaveAttribute('data-method', 'guided')
    await saveScreenshot(page, `method-guided-${app.mode}`)
    // the worker precomputes every word's map off the click path; a click then draws the same pixels
    const precomputed = "performance.getEntriesByName('guided-map-precomputed').length"
    await expect.poll(() => page.evaluate(precomputed)).toBeGreaterThanOrEqual(DEMO.split(' ').length - 2)
    await chips.getByRole('button', { name: 'hat', exact: true }).click()
    await expect(page.getByTestId('image-canvas')).toHaveAttribute('data-overlay', 'hat')
    await chips.getByRole('button', { name: 'scarf', exact: true }).click()
    await expect(page.getByTestId('image-canvas')).toHaveAttribute('data-overlay', 'scarf')
    expect(differingFraction(guided, await canvasPixels(page), 0)).toBe(0)
    const daamIou = iou(thresholdMask(await shownWordMap(page, plain, daam), 0.4), scarfTruth)
    const guidedIou = iou(thresholdMask(await shownWordMap(page, plain, guided), 0.4), scarfTruth)
    expect(guidedIou).toBeGreaterThan(daamIou)
    expect(guidedIou).toBeGreaterThan(0.5)

    await page.getByRole('radio', { name: 'Mask' }).click()
    await expect.poll(async () => differingFraction(guided, await canvasPixels(page), 0)).toBeGreaterThan(0.05)
    await saveScreenshot(page, `method-guided-mask-${app.mode}`)
    await page.getByRole('radio', { name: 'Heat map' }).click()

    // Save all words writes the image-guided maps and says so in its index
    await page.getByTestId('save-all').click()
    await expect(page.getByTestId('banner-info').last()).toContainText(saveDir)
    const [folder] = fs.readdirSync(saveDir)
    const index = JSON.parse(fs.readFileSync(path.join(saveDir, folder!, 'heatmaps.json'), 'utf8')) as {
      method?: string
    }
    expect(index.method).toBe('guided')

    await method.selectOption('daam')
    await expect.poll(async () => differingFraction(daam, await canvasPixels(page), 0)).toBe(0)
  } finally {
    await app.close()
    fs.rmSync(saveDir, { recursive: true, force: true })
  }
})

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
