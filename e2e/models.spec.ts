/**
 * The Models panel end to end: the app is pointed (hubEndpoint) at the loopback Hub of
 * test/helpers/hub-server.ts serving the bundled model as a repository, throttled so the
 * download's progress can be seen. Open the panel with Ctrl+M, check a repository, download it
 * (progress visible, screenshot), pause and resume it, see it installed, use it, generate, pick a
 * word: its heat map.
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { startHubServer } from '../test/helpers/hub-server'
import { DEMO_PROMPT } from '../src/shared/generation'
import { expect, launchApp, ROOT, saveScreenshot, test } from './fixtures'

test.setTimeout(180_000)

test('Models panel: add from the Hub with progress, install, use, generate with maps', async () => {
  const hub = await startHubServer({
    'daam/shapes-onnx': {
      dir: path.join(ROOT, 'models', 'daam-shapes'),
      extraFiles: { 'unet/diffusion_pytorch_model.safetensors': Buffer.alloc(400_000, 1) },
    },
  })
  hub.faults.throttleBytesPerSecond = 1_500_000
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'daam-e2e-models-'))
  const app = await launchApp({
    userDataDir,
    serviceOptions: { modelsDir: path.join(ROOT, 'models'), threads: 1, hubEndpoint: hub.url },
  })
  try {
    const page = app.page
    await expect(page.getByTestId('model-detail')).toContainText('128×128')
    await page.keyboard.press('Control+m')
    const panel = page.getByTestId('models-panel')
    await expect(panel).toBeVisible()
    await expect(panel.getByTestId('curated').getByRole('listitem')).not.toHaveCount(0)
    await expect(panel).toContainText('No models installed')

    await panel.getByTestId('hub-spec').fill('daam/shapes-onnx')
    await panel.getByTestId('hub-check').click()
    const plan = panel.getByTestId('hub-plan')
    await expect(plan).toContainText('12 files')
    await expect(plan).toContainText('PyTorch')
    await saveScreenshot(page, `models-panel-plan-${app.mode}`)
    await plan.getByTestId('hub-download').click()

    const download = panel.getByTestId('download-shapes-onnx')
    await expect(download).toBeVisible()
    const bar = download.getByRole('progressbar')
    await expect
      .poll(async () => Number(await bar.getAttribute('aria-valuenow')), { timeout: 30_000 })
      .toBeGreaterThan(15)
    await expect(download.getByTestId('download-text')).toContainText('/s')
    await saveScreenshot(page, `models-download-progress-${app.mode}`)

    // pause keeps what is downloaded; resume carries on from there
    await download.getByTestId('download-pause').click()
    await expect(download).toHaveAttribute('data-state', 'paused')
    const pausedAt = Number(await bar.getAttribute('aria-valuenow'))
    expect(pausedAt).toBeGreaterThan(15)
    await download.getByTestId('download-resume').click()
    await expect(download).toHaveAttribute('data-state', /downloading|installing|done/)

    const row = panel.getByTestId('installed-shapes-onnx')
    await expect(row).toBeVisible({ timeout: 60_000 })
    await expect(download).toHaveAttribute('data-state', 'done')
    await expect(row).toContainText('128×128')
    await expect(row.getByRole('cell').nth(5)).toHaveText('yes')
    await saveScreenshot(page, `models-installed-${app.mode}`)

    await row.getByTestId('use-shapes-onnx').click()
    await expect(page.getByTestId('model-badge')).toContainText('shapes-onnx')
    await expect(row).toContainText('in use')
    await expect(row.getByTestId('delete-shapes-onnx')).toBeDisabled()
    await panel.getByTestId('models-close').click()
    await expect(panel).toBeHidden()

    await page.getByTestId('prompt').fill(DEMO_PROMPT)
    await page.getByTestId('steps').fill('6')
    await page.getByTestId('prompt').press('Control+Enter')
    const chips = page.getByTestId('word-chips')
    await expect(chips.getByRole('button')).toHaveText(DEMO_PROMPT.split(' '), { timeout: 60_000 })
    await chips.getByRole('button', { name: 'hat', exact: true }).click()
    await expect(page.getByTestId('image-canvas')).toHaveAttribute('data-overlay', 'hat')
    await saveScreenshot(page, `models-generated-${app.mode}`)
  } finally {
    await app.close()
    await hub.close()
    fs.rmSync(userDataDir, { recursive: true, force: true })
  }
})
