/** Checks on the production build itself (no browser needed). */
import fs from 'node:fs'
import path from 'node:path'
import { expect, test } from '@playwright/test'

const out = path.resolve(__dirname, '..', 'out')
const read = (file: string): string => fs.readFileSync(path.join(out, file), 'utf8')
const requires = (code: string): string[] => [...code.matchAll(/require\("([^"]+)"\)/g)].map((m) => m[1]!)

test('the main bundle requires the native modules instead of inlining them', () => {
  const deps = requires(read('main/index.js'))
  expect(deps).toContain('onnxruntime-node')
  expect(deps).toContain('sharp')
  expect(deps).toContain('electron')
})

test('the sandboxed preload requires nothing but electron', () => {
  expect(new Set(requires(read('preload/index.js')))).toEqual(new Set(['electron']))
})

test('the renderer ships a strict Content-Security-Policy', () => {
  const html = read('renderer/index.html')
  const csp = /http-equiv="Content-Security-Policy"\s+content="([^"]+)"/.exec(html)?.[1]
  expect(csp).toBeDefined()
  const directives = new Map(
    csp!.split(';').map((d) => {
      const [name, ...values] = d.trim().split(/\s+/)
      return [name!, values] as const
    }),
  )
  expect(directives.get('script-src')).toEqual(["'self'"])
  expect(directives.get('default-src')).toEqual(["'self'"])
  expect(directives.get('object-src')).toEqual(["'none'"])
  expect(csp).not.toContain('unsafe-eval')
  expect(csp).not.toContain('unsafe-inline')
  expect(csp).not.toMatch(/https?:/)
  expect(html).not.toMatch(/<script(?![^>]*src="\.\/)/) // no inline or remote scripts
})
