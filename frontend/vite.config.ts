/// <reference types="vitest/config" />
// Build, dev-server and test configuration of the Weld Assistant SPA.
// The built files are embedded in the Rust binary, which serves them on the
// same origin as /api, with a strict CSP (no inline scripts or styles).
import { createHash } from 'node:crypto'
import { readdir, readFile, stat, writeFile } from 'node:fs/promises'
import { join, relative, resolve, sep } from 'node:path'
import { promisify } from 'node:util'
import { brotliCompress, constants as zlibConstants, gzip } from 'node:zlib'
import react from '@vitejs/plugin-react'
import { defineConfig, type Plugin } from 'vite'

/** The Rust binary in development (`cargo run`), proxied by `npm run dev`. */
const BACKEND = 'http://127.0.0.1:8080'

const brotli = promisify(brotliCompress)
const gz = promisify(gzip)
const COMPRESSIBLE = /\.(?:js|css|html|svg|json|txt|webmanifest)$/
const MIN_BYTES = 512

async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true })
  const nested = await Promise.all(
    entries.map((entry) => {
      const path = join(dir, entry.name)
      return entry.isDirectory() ? listFiles(path) : Promise.resolve([path])
    }),
  )
  return nested.flat()
}

/**
 * Writes `.br` (brotli, quality 11) and `.gz` (gzip, level 9) siblings of every
 * text asset in the output directory over 512 bytes, so the server can send
 * them as they are to clients that accept those encodings.
 */
function precompress(): Plugin {
  let outDir = ''
  return {
    name: 'weld-precompress',
    apply: 'build',
    configResolved(config) {
      outDir = resolve(config.root, config.build.outDir)
    },
    closeBundle: {
      order: 'post',
      sequential: true,
      async handler() {
        const files = (await listFiles(outDir)).filter((file) => COMPRESSIBLE.test(file))
        for (const file of files) {
          if ((await stat(file)).size <= MIN_BYTES) continue
          const data = await readFile(file)
          const [br, gzipped] = await Promise.all([
            brotli(data, {
              params: {
                [zlibConstants.BROTLI_PARAM_QUALITY]: zlibConstants.BROTLI_MAX_QUALITY,
                [zlibConstants.BROTLI_PARAM_MODE]: zlibConstants.BROTLI_MODE_TEXT,
                [zlibConstants.BROTLI_PARAM_SIZE_HINT]: data.length,
              },
            }),
            gz(data, { level: zlibConstants.Z_BEST_COMPRESSION }),
          ])
          await writeFile(`${file}.br`, br)
          await writeFile(`${file}.gz`, gzipped)
        }
      },
    },
  }
}

/**
 * Writes `dist/sw.js` from `src/pwa/sw.js` (not hashed: its URL must stay the
 * same), with the build's version and precache list filled in. The precache is
 * the entry page (as `/`) and every file of the bundle: hashed JS, CSS and
 * images, lazily loaded chunks included. The files of `public/` (manifests,
 * icons) are left out: the app runs offline without them, and a first visit
 * should not download icons it never shows. The version is a hash of the names
 * and contents of all the files (`public/` too), so any change to the app makes
 * a new worker, which replaces the old one and its cache.
 */
function serviceWorker(): Plugin {
  let root = ''
  let outDir = ''
  let publicDir = ''
  return {
    name: 'weld-service-worker',
    apply: 'build',
    configResolved(config) {
      root = config.root
      outDir = resolve(config.root, config.build.outDir)
      publicDir = config.publicDir
    },
    async writeBundle(_options, bundle) {
      const files = new Map<string, string | Uint8Array>()
      for (const [name, output] of Object.entries(bundle)) {
        files.set(name, output.type === 'chunk' ? output.code : output.source)
      }
      const precache = [...files.keys()].sort().map((name) => (name === 'index.html' ? '/' : `/${name}`))
      if (publicDir) {
        for (const path of await listFiles(publicDir).catch(() => [])) {
          files.set(`public/${relative(publicDir, path).split(sep).join('/')}`, await readFile(path))
        }
      }
      const hash = createHash('sha256')
      for (const name of [...files.keys()].sort()) {
        hash.update(name).update('\0').update(files.get(name) ?? '').update('\0')
      }
      const version = hash.digest('hex').slice(0, 16)
      const source = await readFile(resolve(root, 'src/pwa/sw.js'), 'utf8')
      if (!source.includes("'__WELD_VERSION__'") || !source.includes("'__WELD_PRECACHE__'")) {
        throw new Error('src/pwa/sw.js lost its __WELD_VERSION__ / __WELD_PRECACHE__ placeholders')
      }
      const worker = source
        .replace("'__WELD_VERSION__'", JSON.stringify(version))
        .replace("'__WELD_PRECACHE__'", JSON.stringify(JSON.stringify(precache)))
      await writeFile(resolve(outDir, 'sw.js'), worker)
    },
  }
}

export default defineConfig({
  plugins: [react(), serviceWorker(), precompress()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // Never inline assets as data: URLs in index.html or CSS; small files stay files.
    assetsInlineLimit: 0,
    sourcemap: false,
  },
  server: {
    // Host is kept as the browser sent it (no changeOrigin), so the server's
    // same-origin check compares the Origin with the dev server's own host.
    proxy: {
      '/api': { target: BACKEND },
      '/openapi.json': { target: BACKEND },
      '/docs': { target: BACKEND },
    },
  },
  test: {
    environment: 'jsdom',
    setupFiles: ['./src/test/setup.ts'],
    include: ['src/**/*.test.{ts,tsx}'],
    restoreMocks: true,
    unstubGlobals: true,
    // Generous on a busy 2-core machine: a slow test is not a failed one.
    testTimeout: 20_000,
  },
})
