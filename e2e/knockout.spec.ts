/**
 * Knock-outs in the window (issue 17), bundled model: generate the demo, pick "hat", Knock out ->
 * the three panels (original, without the word, change map) and the agreement; Knock out all
 * words -> the sortable table with flagged words; another generation, then the first one again
 * from the history -> its knock-outs come back with it. Screenshots are saved for review.
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { DEMO_PROMPT } from '../src/shared/generation'
import { expect, generatePrompt, launchApp, ROOT, saveScreenshot, test } from './fixtures'

test.setTimeout(240_000)

test('knock out a word, all words, and restore them from the history', async () => {
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'daam-e2e-ko-'))
  const app = await launchApp({ userDataDir, serviceOptions: { modelsDir: path.join(ROOT, 'models'), threads: 1 } })
  try {
    const page = app.page
    await expect(page.getByTestId('model-detail')).toContainText('128×128')
    await generatePrompt(page)
    const chips = page.getByTestId('word-chips')

    await expect(page.getByTestId('knockout-word')).toBeDisabled()
    await chips.getByRole('button', { name: 'hat', exact: true }).click()
    await page.getByTestId('knockout-word').click()
    const panels = page.getByTestId('knockout-panels')
    await expect(panels).toBeVisible({ timeout: 60_000 })
    await expect(panels.locator('figure')).toHaveCount(3)
    await expect(panels).toContainText('Without “hat”')
    // the word stays picked and its heat map stays on the image
    await expect(page.getByTestId('image-canvas')).toHaveAttribute('data-overlay', 'hat')
    await expect(page.getByTestId('knockout-word')).toHaveText('Knock out “hat”')
    const agreement = Number(await page.getByTestId('knockout-agreement').textContent())
    expect(agreement).toBeGreaterThan(0.4)
    await page.getByTestId('knockout-panels').scrollIntoViewIfNeeded()
    await saveScreenshot(page, `knockout-hat-${app.mode}`)

    await page.getByTestId('knockout-all').click()
    const table = page.getByTestId('knockout-table')
    await expect(table.locator('tbody tr')).toHaveCount(11, { timeout: 120_000 })
    // sorted by agreement, highest first: the hat's two words lead ("red" too since a word's
    // weight also leaves the tokens after it); function words are flagged
    await expect(table.locator('tbody tr').nth(0)).toContainText(/^(red|hat)/)
    await expect(table.locator('tbody tr').nth(1)).toContainText(/^(red|hat)/)
    await expect(table.locator('tbody tr', { hasText: 'around' })).toContainText('disagree')
    await table.getByRole('button', { name: /Word/ }).click()
    await expect(table.locator('tbody tr').first()).toContainText(/^a/)
    await table.scrollIntoViewIfNeeded()
    await saveScreenshot(page, `knockout-all-${app.mode}`)

    // a second generation, then the first from the history: its knock-outs come back
    await page.getByTestId('prompt').fill('a red circle and a blue square')
    await page.getByTestId('prompt').press('Control+Enter')
    await expect(page.getByTestId('history-item')).toHaveCount(2, { timeout: 60_000 })
    await expect(page.getByTestId('knockout-table')).toHaveCount(0)
    await page.getByTestId('history-item').nth(1).getByRole('button').first().click()
    await expect(page.getByTestId('knockout-table').locator('tbody tr')).toHaveCount(11)
    await chips.getByRole('button', { name: 'scarf', exact: true }).click()
    await expect(page.getByTestId('knockout-panels')).toContainText('Without “scarf”')
    await page.getByTestId('knockout-panels').scrollIntoViewIfNeeded()
    await saveScreenshot(page, `knockout-restored-${app.mode}`)

    // a weight for the picked word: the slider, then Generate sends it and the history keeps it
    await chips.getByRole('button', { name: 'red', exact: true }).click()
    await page.getByTestId('word-weight').getByRole('slider').fill('0')
    await expect(page.getByTestId('word-weight')).toContainText('0.0')
    await page.getByTestId('prompt').press('Control+Enter')
    await expect(page.getByTestId('history-item')).toHaveCount(3, { timeout: 60_000 })
    // another entry (no weights), then the weighted one again: the form brings its weight back
    await page.getByTestId('history-item').nth(1).getByRole('button').first().click()
    await expect(chips.getByRole('button', { name: 'circle', exact: true })).toBeVisible()
    await chips.getByRole('button', { name: 'red', exact: true }).click()
    await expect(page.getByTestId('word-weight')).toContainText('1.0')
    await page.getByTestId('history-item').nth(0).getByRole('button').first().click()
    await expect(chips.getByRole('button')).toHaveText(DEMO_PROMPT.split(' '))
    await chips.getByRole('button', { name: 'red', exact: true }).click()
    await expect(page.getByTestId('word-weight')).toContainText('0.0')

    // compare with the previous run: both images with the picked word's map, the difference, the table
    await page.getByTestId('compare').click()
    await expect(page.getByTestId('compare-images').locator('figure')).toHaveCount(3)
    await expect(page.getByTestId('compare-table')).toContainText('hat')
    await page.getByTestId('compare-panel').scrollIntoViewIfNeeded()
    await saveScreenshot(page, `compare-${app.mode}`)
  } finally {
    await app.close()
    fs.rmSync(userDataDir, { recursive: true, force: true })
  }
})
