/**
 * The one e2e fixture. It launches the built app (run `npm run build` first) in
 * one of two modes:
 *
 *  - electron: Playwright's `_electron.launch` on `out/main/index.js`, when the
 *    Electron binary resolves (developer machines);
 *  - chromium: Debian Chromium (`$CHROMIUM_PATH` or /usr/bin/chromium) showing
 *    `out/renderer` from a loopback HTTP server, with `window.api` built by the
 *    same `createApi` factory over Playwright bindings that go to a real
 *    `AppService` in this process, through the same dispatcher as ipcMain
 *    (sender check, zod validation, result envelope). Events are pushed into
 *    the page with `page.evaluate`.
 *
 * `E2E_MODE=electron|chromium` forces a mode. Usage:
 *
 *   import { test, expect } from './fixtures'
 *   test.use({ appOptions: { serviceOptions: { modelsDir: '/path/to/models' } } })
 *   test('...', async ({ page, app }) => { ... })
 *
 * or `const app = await launchApp({ userDataDir })` for several launches in one test.
 */
import fs from 'node:fs'
import { createRequire } from 'node:module'
import os from 'node:os'
import path from 'node:path'
import {
  _electron,
  chromium,
  test as base,
  expect,
  type BrowserContext,
  type ElectronApplication,
  type Page,
} from '@playwright/test'
import { build } from 'esbuild'
import type { Api } from '../src/shared/ipc/create-api'
import { createDispatcher, forwardEvents } from '../src/main/ipc/dispatch'
import { createSenderCheck } from '../src/main/ipc/trust'
import {
  AppService,
  SERVICE_OPTIONS_ENV,
  USER_DATA_DIR_ENV,
  bindService,
  type ServiceOptions,
} from '../src/main/service'
import { serveStatic, type StaticServer } from './support/static-server'
import { DEMO_PROMPT } from '../src/shared/generation'

export { expect }

export const ROOT = path.resolve(__dirname, '..')
export const ARTIFACTS_DIR = path.join(ROOT, 'e2e', 'artifacts')
const RENDERER_DIR = path.join(ROOT, 'out', 'renderer')
const MAIN_ENTRY = path.join(ROOT, 'out', 'main', 'index.js')
const VIEWPORT = { width: 1320, height: 860 }

export type AppMode = 'electron' | 'chromium'

export interface AppLaunchOptions {
  /** The app's user-data folder. Default: a fresh temp folder, deleted on close. */
  userDataDir?: string
  /** Service option overrides (modelsDir, ...). Default modelsDir: `<repo>/models`. */
  serviceOptions?: Partial<ServiceOptions>
  /** Force a mode. Default: `$E2E_MODE`, else Electron when its binary resolves, else Chromium. */
  mode?: AppMode
}

export interface LaunchedApp {
  mode: AppMode
  /** The app window. */
  page: Page
  userDataDir: string
  /** Chromium mode: the in-process service behind `window.api`. Electron mode: null (it lives in main). */
  service: AppService | null
  /** Electron mode: the Playwright ElectronApplication. Chromium mode: null. */
  electronApp: ElectronApplication | null
  /** Lines the app logged (main-process stdout/stderr in Electron mode, page console in both). */
  logs: string[]
  close(): Promise<void>
}

interface ModeChoice {
  mode: AppMode
  reason: string
  executable: string
}

export function chromiumPath(): string {
  return process.env['CHROMIUM_PATH'] || '/usr/bin/chromium'
}

/** Path of the Electron binary, or null when it is not installed (e.g. ELECTRON_SKIP_BINARY_DOWNLOAD). */
/**
 * The installed Electron executable, or null. Read from the package's path.txt rather than by
 * `require('electron')`: since Electron 40 that require downloads a missing binary, which an
 * offline machine cannot do (and a test must not try).
 */
export function electronBinary(): string | null {
  try {
    const pkgDir = path.dirname(createRequire(__filename).resolve('electron/package.json'))
    const pathFile = path.join(pkgDir, 'path.txt')
    if (!fs.existsSync(pathFile)) return null
    const relative = fs.readFileSync(pathFile, 'utf8').trim()
    const distDir = process.env['ELECTRON_OVERRIDE_DIST_PATH'] ?? path.join(pkgDir, 'dist')
    const executable = path.join(distDir, relative)
    return fs.existsSync(executable) ? executable : null
  } catch {
    return null
  }
}

export function chooseMode(forced?: AppMode): ModeChoice {
  const wanted = forced ?? (process.env['E2E_MODE'] as AppMode | undefined)
  if (wanted && wanted !== 'electron' && wanted !== 'chromium') {
    throw new Error(`E2E_MODE must be "electron" or "chromium", got "${wanted}"`)
  }
  const electron = electronBinary()
  if (wanted !== 'chromium' && electron) {
    return { mode: 'electron', reason: wanted ? 'forced' : 'Electron binary found', executable: electron }
  }
  if (wanted === 'electron') throw new Error('E2E_MODE=electron but the Electron binary is not installed')
  const browser = chromiumPath()
  if (!fs.existsSync(browser)) {
    throw new Error(`No Electron binary and no Chromium at ${browser}: install chromium or set CHROMIUM_PATH`)
  }
  return { mode: 'chromium', reason: wanted ? 'forced' : 'no Electron binary', executable: browser }
}

let printedMode = false

export async function launchApp(options: AppLaunchOptions = {}): Promise<LaunchedApp> {
  if (!fs.existsSync(path.join(RENDERER_DIR, 'index.html'))) {
    throw new Error('out/renderer is missing: run `npm run build` before the e2e tests')
  }
  const choice = chooseMode(options.mode)
  if (!printedMode) {
    printedMode = true
    console.log(`[e2e] mode: ${choice.mode} (${choice.reason}; ${choice.executable})`)
  }
  const ownsUserData = !options.userDataDir
  const userDataDir = options.userDataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'daam-e2e-'))
  fs.mkdirSync(userDataDir, { recursive: true })
  const launched =
    choice.mode === 'electron'
      ? await launchElectron(choice.executable, userDataDir, options)
      : await launchChromium(choice.executable, userDataDir, options)
  const close = launched.close
  launched.close = async () => {
    await close()
    if (ownsUserData) fs.rmSync(userDataDir, { recursive: true, force: true })
  }
  return launched
}

async function launchElectron(
  executablePath: string,
  userDataDir: string,
  options: AppLaunchOptions,
): Promise<LaunchedApp> {
  if (!fs.existsSync(MAIN_ENTRY)) throw new Error('out/main is missing: run `npm run build` first')
  const env: Record<string, string> = {}
  for (const [key, value] of Object.entries(process.env)) if (value !== undefined) env[key] = value
  delete env['ELECTRON_RUN_AS_NODE']
  delete env['ELECTRON_RENDERER_URL']
  env[USER_DATA_DIR_ENV] = userDataDir
  env[SERVICE_OPTIONS_ENV] = JSON.stringify({ userDataDir, ...options.serviceOptions })

  const logs: string[] = []
  const electronApp = await _electron.launch({
    executablePath,
    args: [ROOT, ...(process.platform === 'linux' && process.getuid?.() === 0 ? ['--no-sandbox'] : [])],
    cwd: ROOT,
    env,
  })
  const proc = electronApp.process()
  proc.stdout?.on('data', (d: Buffer) => logs.push(...d.toString().split('\n').filter(Boolean)))
  proc.stderr?.on('data', (d: Buffer) => logs.push(...d.toString().split('\n').filter(Boolean)))
  const page = await electronApp.firstWindow()
  page.on('console', (m) => logs.push(`[console.${m.type()}] ${m.text()}`))
  await page.waitForLoadState('domcontentloaded')
  return {
    mode: 'electron',
    page,
    userDataDir,
    service: null,
    electronApp,
    logs,
    close: () => electronApp.close(),
  }
}

let pageApiScript: Promise<string> | undefined

/** Bundles e2e/support/page-api.ts (the shared createApi + a binding transport) to an IIFE. */
function buildPageApiScript(): Promise<string> {
  pageApiScript ??= build({
    entryPoints: [path.join(__dirname, 'support', 'page-api.ts')],
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: 'es2022',
    write: false,
    logLevel: 'silent',
  }).then((out) => out.outputFiles[0]!.text)
  return pageApiScript
}

async function launchChromium(
  executablePath: string,
  userDataDir: string,
  options: AppLaunchOptions,
): Promise<LaunchedApp> {
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
    productName: string
    version: string
  }
  const service = new AppService({
    appName: pkg.productName,
    appVersion: pkg.version,
    modelsDir: path.join(ROOT, 'models'),
    userDataDir,
    ...options.serviceOptions,
  })
  let server: StaticServer | undefined
  let context: BrowserContext | undefined
  let stopEvents = (): void => {}
  const logs: string[] = []
  try {
    server = await serveStatic(RENDERER_DIR)
    const dispatch = createDispatcher(bindService(service), {
      isTrustedSender: createSenderCheck({ origins: [server.origin] }),
      onInternalError: (channel, error) => logs.push(`[ipc] ${channel} failed: ${String(error)}`),
    })
    context = await chromium.launchPersistentContext(path.join(userDataDir, 'chromium-profile'), {
      executablePath,
      headless: true,
      viewport: VIEWPORT,
      colorScheme: 'dark',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--no-first-run',
        '--disable-quic',
        '--disable-sync',
      ],
    })
    await context.exposeBinding('__daamInvoke', (source, channel: unknown, request: unknown) =>
      dispatch(String(channel), request, {
        url: source.frame.url(),
        isMainFrame: source.frame === source.page.mainFrame(),
      }),
    )
    await context.addInitScript({ content: await buildPageApiScript() })
    const page = context.pages()[0] ?? (await context.newPage())
    page.on('console', (m) => logs.push(`[console.${m.type()}] ${m.text()}`))
    page.on('pageerror', (e) => logs.push(`[pageerror] ${e.message}`))
    stopEvents = forwardEvents(service.events, (event, payload) => {
      page
        .evaluate(
          ([e, p]) => (globalThis as unknown as { __daamEmit?: (e: string, p: unknown) => void }).__daamEmit?.(e, p),
          [event, payload] as const,
        )
        .catch(() => {}) // page closing or navigating
    })
    await page.goto(`${server.origin}/index.html`)
    const srv = server
    const ctx = context
    return {
      mode: 'chromium',
      page,
      userDataDir,
      service,
      electronApp: null,
      logs,
      close: async () => {
        stopEvents()
        await ctx.close()
        await srv.close()
        await service.dispose()
      },
    }
  } catch (error) {
    stopEvents()
    await context?.close().catch(() => {})
    await server?.close()
    await service.dispose()
    throw error
  }
}

/**
 * Runs `fn(window.api, arg)` in the page and returns its (serializable) result.
 * Typed against the contract; `fn` must be self-contained (it is sent as source).
 *
 *   const info = await evaluateApi(page, (api) => api.app.getInfo())
 */
export function evaluateApi<R, A = undefined>(
  page: Page,
  fn: (api: Api, arg: A) => R | Promise<R>,
  arg?: A,
): Promise<R> {
  const argument = arg === undefined ? 'undefined' : JSON.stringify(arg)
  // A string expression is evaluated by the DevTools protocol, which the page's CSP (no eval) allows.
  return page.evaluate(`(${fn.toString()})(globalThis.api, ${argument})`) as Promise<R>
}

/**
 * Generates `prompt` (the bundled model's demo by default) from the prompt box with Ctrl+Enter
 * and waits until its words are chips: the start of the specs that work on a finished image.
 */
export async function generatePrompt(page: Page, prompt = DEMO_PROMPT): Promise<void> {
  await page.getByTestId('prompt').fill(prompt)
  await page.getByTestId('prompt').press('Control+Enter')
  await expect(page.getByTestId('word-chips').getByRole('button')).toHaveText(prompt.split(' '), { timeout: 60_000 })
}

/** Saves a full-window PNG to e2e/artifacts/<name>.png and returns its path. */
export async function saveScreenshot(page: Page, name: string): Promise<string> {
  fs.mkdirSync(ARTIFACTS_DIR, { recursive: true })
  const file = path.join(ARTIFACTS_DIR, `${name}.png`)
  await page.screenshot({ path: file })
  return file
}

export const test = base.extend<{ appOptions: AppLaunchOptions; app: LaunchedApp }>({
  appOptions: [{}, { option: true }],
  app: async ({ appOptions }, use, testInfo) => {
    const app = await launchApp(appOptions)
    await use(app)
    if (testInfo.status !== testInfo.expectedStatus && app.logs.length > 0) {
      await testInfo.attach('app-logs.txt', { body: app.logs.join('\n'), contentType: 'text/plain' })
    }
    await app.close()
  },
  // The app window replaces Playwright's default page (no bundled browser is needed).
  page: async ({ app }, use) => {
    await use(app.page)
  },
})
