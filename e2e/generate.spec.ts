/**
 * The researcher's flow with the bundled model: prompt -> generate -> word chips -> click "hat"
 * -> overlay -> click "neck" -> Save overlay (dialog answered by the test) -> the file matches the
 * screen -> restart on the same user data -> the history restores image and maps.
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import sharp from 'sharp'
import { DEMO_PROMPT as DEMO } from '../src/shared/generation'
import { centroidY, colourMask } from '../scripts/colour-key'
import { canvasPixels, differingFraction, mapStats, rgbOf, shownWordMap } from './support/canvas'
import { expect, launchApp, ROOT, saveScreenshot, test } from './fixtures'

/** `DAAM_E2E_MODELS` runs the flow against another models folder (e.g. a fresh training export). */
const MODELS_DIR = process.env['DAAM_E2E_MODELS']
  ? path.resolve(process.env['DAAM_E2E_MODELS'])
  : path.join(ROOT, 'models')

test.setTimeout(180_000)

function tmp(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix))
}

test('prompt -> image -> word maps -> save -> restart restores it from history', async () => {
  const testInfo = test.info()
  const userDataDir = tmp('daam-e2e-user-')
  const saveDir = tmp('daam-e2e-save-')
  let app = await launchApp({
    userDataDir,
    serviceOptions: {
      modelsDir: MODELS_DIR,
      threads: 1,
      dialogAnswers: { saveFile: saveDir, chooseFolder: path.join(saveDir, 'export') },
    },
  })
  try {
    let page = app.page
    await expect(page.getByTestId('model-detail')).toContainText('128×128')
    await page.getByTestId('prompt').fill(DEMO)
    await page.getByTestId('steps').fill('20')
    await page.getByTestId('prompt').press('Control+Enter')
    await expect(page.getByTestId('progress')).toBeVisible()
    const chips = page.getByTestId('word-chips')
    await expect(chips.getByRole('button')).toHaveText(DEMO.split(' '), { timeout: 60_000 })
    await expect(page.getByTestId('history-item')).toHaveCount(1)
    await saveScreenshot(page, `generated-${app.mode}`)

    const plain = await canvasPixels(page)
    expect(plain.width).toBe(128)

    await chips.getByRole('button', { name: 'hat', exact: true }).click()
    await expect(page.getByTestId('image-canvas')).toHaveAttribute('data-overlay', 'hat')
    const hatPixels = await canvasPixels(page)
    // The overlay is visible: most pixels changed from the plain image.
    expect(differingFraction(plain, hatPixels)).toBeGreaterThan(0.5)
    // The maps themselves, read back from the screen's pixels.
    const hat = mapStats(await shownWordMap(page, plain, hatPixels), plain.width)
    await saveScreenshot(page, `word-hat-${app.mode}`)

    await chips.getByRole('button', { name: 'neck', exact: true }).click()
    await expect(page.getByTestId('image-canvas')).toHaveAttribute('data-overlay', 'neck')
    const neckPixels = await canvasPixels(page)
    const neck = mapStats(await shownWordMap(page, plain, neckPixels), plain.width)
    await saveScreenshot(page, `word-neck-${app.mode}`)

    // Where the words live. The snowman is its white body (brighter than the light-grey
    // background, which never exceeds 246 per channel in the training world) plus its red hat and
    // blue scarf.
    const rgb = rgbOf(plain)
    const red = colourMask(rgb, 'red')
    const blue = colourMask(rgb, 'blue')
    const snowman = new Uint8Array(plain.width * plain.height)
    let bodyPixels = 0
    for (let i = 0; i < snowman.length; i++) {
      const white = Math.min(rgb[i * 3]!, rgb[i * 3 + 1]!, rgb[i * 3 + 2]!) >= 248
      if (white) bodyPixels++
      snowman[i] = white || red[i] || blue[i] ? 1 : 0
    }
    // The committed model is trained and the seed fixed: it must draw the snowman.
    expect(bodyPixels, 'the bundled model draws a snowman body').toBeGreaterThanOrEqual(150)
    let top = Infinity,
      bottom = -Infinity
    snowman.forEach((v, i) => {
      if (!v) return
      const y = Math.floor(i / plain.width)
      top = Math.min(top, y)
      bottom = Math.max(bottom, y)
    })
    const middle = (top + bottom) / 2
    expect(hat.peak.y, 'hat: hottest pixel in the upper half of the snowman').toBeLessThan(middle)
    expect(hat.peak.y, 'hat: hottest pixel on the snowman, not above it').toBeGreaterThanOrEqual(top - 8)
    expect(neck.maskCentroid.y, 'the neck mask lies below the hat mask').toBeGreaterThan(hat.maskCentroid.y)
    const note = `hat peak y ${hat.peak.y}, mask centre y ${hat.maskCentroid.y.toFixed(1)}; neck peak y ${neck.peak.y}, mask centre y ${neck.maskCentroid.y.toFixed(1)}; snowman rows ${top}-${bottom}; red centroid y ${centroidY(red, plain.width).toFixed(1)}, blue ${centroidY(blue, plain.width).toFixed(1)}`
    testInfo.annotations.push({ type: 'spatial', description: note })
    console.log(`[e2e] ${note}`)
    // Different words give different maps.
    expect(neck.centroid).not.toEqual(hat.centroid)

    // Hover: the top words at a pixel with their share.
    const box = (await page.getByTestId('image-canvas').boundingBox())!
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 3)
    await expect(page.getByTestId('hover-card')).toContainText('%')
    await saveScreenshot(page, `hover-${app.mode}`)
    await page.mouse.move(0, 0)

    // Scrubbing to the first step changes the map; "All" returns to the full range, pixel for pixel.
    await page.getByTestId('step-scrub').fill('0')
    await expect
      .poll(async () => mapStats(await shownWordMap(page, plain, await canvasPixels(page)), plain.width).centroid)
      .not.toEqual(neck.centroid)
    await page.getByRole('button', { name: 'All', exact: true }).click()
    await expect.poll(async () => differingFraction(neckPixels, await canvasPixels(page), 0)).toBe(0)

    // Mask mode with a threshold: the image outside the mask is dimmed.
    await page.getByRole('radio', { name: 'Mask' }).click()
    await page.getByTestId('threshold').fill('0.6')
    const masked = await canvasPixels(page)
    expect(differingFraction(neckPixels, masked)).toBeGreaterThan(0.3)
    await saveScreenshot(page, `mask-${app.mode}`)
    await page.getByRole('radio', { name: 'Heat map' }).click()

    // Save overlay with the shortcut; the test's dialog answer is the folder.
    const onScreen = await canvasPixels(page)
    await page.keyboard.press('Control+s')
    await expect(page.getByTestId('banner-info')).toContainText('neck.overlay.png')
    const file = path.join(saveDir, 'neck.overlay.png')
    const { data, info } = await sharp(file).raw().toBuffer({ resolveWithObject: true })
    expect([info.width, info.height, info.channels]).toEqual([128, 128, 3])
    let maxDiff = 0
    for (let i = 0; i < info.width * info.height; i++) {
      for (let c = 0; c < 3; c++) maxDiff = Math.max(maxDiff, Math.abs(data[i * 3 + c]! - onScreen.data[i * 4 + c]!))
    }
    expect(maxDiff, 'saved PNG vs on-screen overlay').toBeLessThanOrEqual(2)

    // Save all words and export maps go into new subfolders of the folder the (test-answered)
    // dialog picks, named after the generation; what that folder already holds stays untouched.
    const chosen = path.join(saveDir, 'export')
    fs.mkdirSync(chosen)
    fs.writeFileSync(path.join(chosen, 'image.png'), 'the user own file')
    await page.getByTestId('save-all').click()
    await expect(page.getByTestId('banner-info').last()).toContainText(chosen)
    const [allWords] = fs.readdirSync(chosen).filter((f) => f !== 'image.png')
    expect(allWords).toMatch(/^a-snowman-wearing-a-red-hat-and-a-blue-scarf-\d+-/)
    await expect(page.getByTestId('banner-info').last()).toContainText(allWords!)
    const exported = fs.readdirSync(path.join(chosen, allWords!))
    expect(exported).toEqual(
      expect.arrayContaining(['image.png', 'meta.json', 'grid.png', 'hat.overlay.png', 'neck.npy', 'raw']),
    )
    await page.getByTestId('export-maps').click()
    await expect(page.getByTestId('banner-info')).toHaveCount(3)
    const maps = fs.readdirSync(chosen).find((f) => f.endsWith('-maps'))
    expect(maps).toBeDefined()
    expect(fs.existsSync(path.join(chosen, maps!, 'maps.json'))).toBe(true)
    expect(fs.readFileSync(path.join(chosen, 'image.png'), 'utf8')).toBe('the user own file')

    // Restart on the same user data: the history restores the image and its maps.
    await app.close()
    app = await launchApp({ userDataDir, serviceOptions: { modelsDir: MODELS_DIR, threads: 1 } })
    page = app.page
    await expect(page.getByTestId('history-item')).toHaveCount(1)
    await page.getByTestId('history-item').getByRole('button').first().click()
    await expect(page.getByTestId('prompt')).toHaveValue(DEMO)
    await page.getByTestId('word-chips').getByRole('button', { name: 'neck', exact: true }).click()
    await expect(page.getByTestId('image-canvas')).toHaveAttribute('data-overlay', 'neck')
    const restored = await canvasPixels(page)
    expect(differingFraction(onScreen, restored, 0)).toBe(0)
    await saveScreenshot(page, `restored-${app.mode}`)

    // Delete removes the entry and its files.
    const id = await page.getByTestId('history-item').getAttribute('data-id')
    await page
      .getByTestId('history-item')
      .getByRole('button', { name: /^Delete/ })
      .click()
    await expect(page.getByTestId('history-item')).toHaveCount(0)
    expect(fs.existsSync(path.join(userDataDir, 'history', id!))).toBe(false)
  } finally {
    await app.close()
    fs.rmSync(userDataDir, { recursive: true, force: true })
    fs.rmSync(saveDir, { recursive: true, force: true })
  }
})
