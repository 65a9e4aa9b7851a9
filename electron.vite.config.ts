import { resolve } from 'node:path'
import react from '@vitejs/plugin-react'
import { defineConfig } from 'electron-vite'
import type { Plugin } from 'vite'

/**
 * The production CSP lives in src/renderer/index.html. The dev server needs
 * inline scripts (React refresh preamble), inline styles (CSS HMR) and a
 * websocket, so `serve` relaxes it; `build` ships the strict one untouched.
 */
function devCsp(): Plugin {
  return {
    name: 'daam:dev-csp',
    apply: 'serve',
    transformIndexHtml(html) {
      return html.replace(
        /(<meta\s+http-equiv="Content-Security-Policy"\s+content=")([^"]*)(")/,
        (_m, start: string, policy: string, end: string) =>
          start +
          policy
            .replace("script-src 'self'", "script-src 'self' 'unsafe-inline'")
            .replace("style-src 'self'", "style-src 'self' 'unsafe-inline'")
            .replace("connect-src 'self'", "connect-src 'self' ws://localhost:* ws://127.0.0.1:*") +
          end,
      )
    },
  }
}

export default defineConfig({
  main: {
    // Dependencies (onnxruntime-node, sharp, zod, ...) stay external and are
    // `require`d at runtime: native addons cannot be bundled.
    build: {
      externalizeDeps: true,
      rollupOptions: {
        // The image engine's worker is a second entry, `out/main/engine-worker.js`, found next
        // to the main bundle by src/main/service/engine-host/worker-path.ts. Shared chunks stay
        // in out/main too, so the service's code sees the same folder from any chunk.
        input: {
          index: resolve(__dirname, 'src/main/index.ts'),
          'engine-worker': resolve(__dirname, 'src/main/service/engine-host/worker-entry.ts'),
        },
        output: { chunkFileNames: '[name]-[hash].js' },
      },
    },
  },
  preload: {
    // A sandboxed preload can only `require('electron')`, so bundle everything else.
    build: { externalizeDeps: false },
  },
  renderer: {
    plugins: [react(), devCsp()],
  },
})
