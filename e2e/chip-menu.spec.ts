/**
 * A word chip's context menu (issue 17 §3), bundled model: right-click "hat" -> the menu with the
 * weight and Knock out; Knock out from it shows the three panels. From the keyboard: Shift+F10 on
 * "red" opens it with focus on the slider, "0" sets the weight, Esc closes it and gives focus back
 * to the chip; Generate then uses the weight and the red hat is gone from the new image
 * (colour-keyed). Screenshots are saved for review.
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { DEMO_PROMPT } from '../src/shared/generation'
import { colourMask } from '../scripts/colour-key'
import { canvasPixels, rgbOf } from './support/canvas'
import { expect, generatePrompt, launchApp, ROOT, saveScreenshot, test } from './fixtures'

test.setTimeout(180_000)

const count = (m: Uint8Array): number => m.reduce((n, v) => n + v, 0)

test('word chip menu: weight and knock out, by mouse and keyboard', async () => {
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'daam-e2e-chipmenu-'))
  const app = await launchApp({ userDataDir, serviceOptions: { modelsDir: path.join(ROOT, 'models'), threads: 1 } })
  try {
    const page = app.page
    await expect(page.getByTestId('model-detail')).toContainText('128×128')
    await generatePrompt(page)
    const chips = page.getByTestId('word-chips')
    const red0 = count(colourMask(rgbOf(await canvasPixels(page)), 'red'))
    expect(red0).toBeGreaterThan(50) // the demo image has its red hat

    // right-click "hat": the menu, with weight 1 and Knock out
    const hat = chips.getByRole('button', { name: 'hat', exact: true })
    await expect(hat).toHaveAttribute('aria-haspopup', 'dialog')
    await hat.click({ button: 'right' })
    const menu = page.getByTestId('chip-menu')
    await expect(menu).toBeVisible()
    await expect(menu).toHaveAttribute('aria-label', 'Word “hat”')
    await expect(menu.getByTestId('chip-menu-weight')).toHaveText('1.0')
    await saveScreenshot(page, `chip-menu-hat-${app.mode}`)
    // Knock out from the menu: the word is picked and the three panels come
    await menu.getByTestId('chip-menu-knockout').click()
    await expect(menu).toHaveCount(0)
    const panels = page.getByTestId('knockout-panels')
    await expect(panels).toBeVisible({ timeout: 60_000 })
    await expect(panels.locator('figure')).toHaveCount(3)
    await expect(panels).toContainText('Without “hat”')
    await expect(page.getByTestId('image-canvas')).toHaveAttribute('data-overlay', 'hat')

    // keyboard: Shift+F10 on "red" opens the menu on its slider; "0"; Esc back to the chip
    const red = chips.getByRole('button', { name: 'red', exact: true })
    await red.focus()
    await page.keyboard.press('Shift+F10')
    await expect(menu).toHaveAttribute('aria-label', 'Word “red”')
    await expect(menu.getByRole('slider')).toBeFocused()
    await page.keyboard.press('ArrowLeft') // the slider moves by its step
    await expect(menu.getByTestId('chip-menu-weight')).toHaveText('0.9')
    await menu.getByRole('button', { name: '0', exact: true }).click()
    await expect(menu.getByTestId('chip-menu-weight')).toHaveText('0.0')
    await saveScreenshot(page, `chip-menu-red-${app.mode}`)
    await page.keyboard.press('Escape')
    await expect(menu).toHaveCount(0)
    await expect(red).toBeFocused()
    // a click outside closes it too
    await red.click({ button: 'right' })
    await expect(menu.getByTestId('chip-menu-weight')).toHaveText('0.0') // the weight is kept
    await page.getByTestId('prompt').click()
    await expect(menu).toHaveCount(0)

    // Generate uses the weight: same seed, no red left (the tokens after "red" lose it too)
    await page.getByTestId('prompt').press('Control+Enter')
    await expect(page.getByTestId('history-item')).toHaveCount(2, { timeout: 60_000 })
    await expect(chips.getByRole('button')).toHaveText(DEMO_PROMPT.split(' '))
    // the picked word stays picked on the new image: unpick it to read the image itself
    const canvas = page.getByTestId('image-canvas')
    if ((await canvas.getAttribute('data-overlay')) === 'hat') await hat.click()
    await expect(canvas).toHaveAttribute('data-overlay', '')
    const redAfter = count(colourMask(rgbOf(await canvasPixels(page)), 'red'))
    expect(redAfter).toBeLessThanOrEqual(0.1 * red0)
  } finally {
    await app.close()
  }
})
