/**
 * Issue 18 in the window: live maps repaint over the forming image while a generation runs (a word
 * picked during the run stays picked on the finished image, with its settling curve), and an
 * existing image opened with "Open image…" is attributed to the prompt box's words, shown with its
 * crop, and kept in the history as an attributed image.
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import sharp from 'sharp'
import { expect, launchApp, ROOT, saveScreenshot, test } from './fixtures'

test.setTimeout(240_000)

test('live maps during a run, then attributing an existing image', async () => {
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'daam-e2e-live-'))
  const app = await launchApp({ userDataDir, serviceOptions: { modelsDir: path.join(ROOT, 'models'), threads: 1 } })
  try {
    const page = app.page
    await expect(page.getByTestId('model-detail')).toContainText('128×128')
    // 512x512 runs long enough on the bundled model to pick a word while it forms
    await page.getByTestId('prompt').fill('a snowman wearing a red hat and a blue scarf around its neck')
    await page.getByTestId('steps').fill('12')
    await page.getByTestId('width').fill('512')
    await page.getByTestId('height').fill('512')
    await page.getByTestId('generate').click()
    const live = page.getByTestId('live-chips')
    await live.getByRole('button', { name: 'hat', exact: true }).click({ timeout: 60_000 })
    const canvas = page.getByTestId('live-preview')
    await expect(canvas).toHaveAttribute('data-overlay', 'hat')
    const stepsSeen = async (): Promise<number> => Number((await canvas.getAttribute('data-live-steps')) ?? 0)
    await expect.poll(stepsSeen, { timeout: 60_000 }).toBeGreaterThanOrEqual(4)
    const early = await stepsSeen()
    await saveScreenshot(page, `live-maps-${app.mode}`)
    // it repaints: more steps folded in later in the same run
    await expect.poll(stepsSeen, { timeout: 60_000 }).toBeGreaterThan(early)

    // finished: the word watched live stays picked, with its settling curve under the chip
    await expect(page.getByTestId('image-canvas')).toHaveAttribute('data-overlay', 'hat', { timeout: 120_000 })
    const curve = page.getByTestId('settling')
    await expect(curve).toBeVisible()
    const settledAt = Number(await curve.getAttribute('data-settled-at'))
    expect(settledAt).toBeGreaterThanOrEqual(1)
    expect(settledAt).toBeLessThanOrEqual(12)
    await expect(curve).toContainText(`settles at step ${settledAt}/12`)
    await saveScreenshot(page, `live-maps-finished-${app.mode}`)

    // an existing picture: a red circle and a blue square on a wide white canvas
    const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="384" height="256"><rect width="384" height="256" fill="#f4f1ea"/>
      <circle cx="150" cy="128" r="50" fill="#e03c31"/><rect x="205" y="95" width="70" height="70" fill="#2f5dd8"/></svg>`
    const file = path.join(userDataDir, 'shapes.png')
    await sharp(Buffer.from(svg)).png().toFile(file)
    await page.getByTestId('prompt').fill('a red circle and a blue square')
    await page.getByTestId('attr-levels').fill('6')
    await page.getByTestId('open-image-input').setInputFiles(file)
    await expect(page.getByTestId('attributed-source')).toContainText(
      'shapes.png (384×256, alpha flattened onto white)',
      {
        timeout: 60_000,
      },
    )
    await expect(page.getByTestId('attributed-source')).toContainText('the outlined 256×256 crop')
    await expect(page.getByTestId('attributed-source')).toContainText('6 noise levels from 0.1 to 0.5')
    const chips = page.getByTestId('word-chips')
    await expect(chips.getByRole('button')).toHaveText(['a', 'red', 'circle', 'and', 'a', 'blue', 'square'])
    await chips.getByRole('button', { name: 'circle', exact: true }).click()
    await expect(page.getByTestId('image-canvas')).toHaveAttribute('data-overlay', 'circle')
    await expect(page.getByTestId('history-attributed')).toHaveCount(1)
    await saveScreenshot(page, `attributed-${app.mode}`)

    // an unusable file: a clear message, nothing added
    const bad = path.join(userDataDir, 'notes.png')
    fs.writeFileSync(bad, 'not an image')
    await page.getByTestId('open-image-input').setInputFiles(bad)
    await expect(page.getByRole('alert').or(page.locator('.banner'))).toContainText(
      'notes.png: This file is not a readable image',
    )
    await expect(page.getByTestId('history-item')).toHaveCount(2)

    // drag and drop onto the canvas does the same
    await page.getByTestId('prompt').fill('a blue square')
    const b64 = fs.readFileSync(file).toString('base64')
    const drop = await page.evaluateHandle((data) => {
      const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0))
      // DOM types are not in the e2e tsconfig (Node's): the page's DataTransfer, typed by hand
      const page = globalThis as unknown as { DataTransfer: new () => { items: { add(file: File): void } } }
      const dt = new page.DataTransfer()
      dt.items.add(new File([bytes], 'dropped.png', { type: 'image/png' }))
      return dt
    }, b64)
    await page.getByTestId('image-area').dispatchEvent('drop', { dataTransfer: drop })
    await expect(page.getByTestId('attributed-source')).toContainText('dropped.png (384×256', { timeout: 60_000 })
    await expect(page.getByTestId('word-chips').getByRole('button')).toHaveText(['a', 'blue', 'square'])
    await expect(page.getByTestId('history-attributed')).toHaveCount(2)

    // history restores an attributed image with its source, crop and maps; the form keeps its settings
    await page.getByTestId('history-item').nth(1).locator('.history-open').click()
    await expect(page.getByTestId('attributed-source')).toContainText('shapes.png (384×256')
    await expect(page.getByTestId('prompt')).toHaveValue('a red circle and a blue square')
    await expect(page.getByTestId('steps')).toHaveValue('12')
    await page.getByTestId('word-chips').getByRole('button', { name: 'square', exact: true }).click()
    await expect(page.getByTestId('image-canvas')).toHaveAttribute('data-overlay', 'square')
  } finally {
    await app.close()
    fs.rmSync(userDataDir, { recursive: true, force: true })
  }
})
