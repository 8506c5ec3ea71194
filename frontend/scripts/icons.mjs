// Renders the app's PNG icons (for the web manifest and iOS) from the product
// mark in src/assets/favicon.svg, in headless Chromium (the system one, through
// playwright-core), and writes them to public/icons/. Run it again after the
// mark changes and commit the PNGs:
//
//   node scripts/icons.mjs            (CHROMIUM_BIN overrides /usr/bin/chromium)
//
// - icon-192.png, icon-512.png: the mark as it is (rounded square, transparent corners);
// - icon-maskable-512.png: the drawing on a full-bleed square of the mark's colour,
//   scaled to stay inside the central safe zone (a circle of 40 % of the size)
//   whatever shape the launcher cuts;
// - apple-touch-icon.png (180): opaque, since iOS fills transparency with black.
//
// Each PNG is then reduced to a palette by Debian's `pngquant` (apt-get install
// pngquant), which cuts the 192 icon from 4.3 KB to 1.3 KB of the first visit.
import { execFileSync } from 'node:child_process'
import { readFile, writeFile } from 'node:fs/promises'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium } from 'playwright-core'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const out = resolve(root, 'public/icons')
const mark = await readFile(resolve(root, 'src/assets/favicon.svg'), 'utf8')
const inner = /<svg[^>]*>([\s\S]*)<\/svg>/.exec(mark)?.[1]
if (!inner) throw new Error('src/assets/favicon.svg has no <svg> element')
/** The drawing without its background square (the first <rect>). */
const drawing = inner.replace(/<rect[^>]*\/>/, '')
const SURFACE = '#1e293b'

const svg = (viewBox, body) => `<svg xmlns="http://www.w3.org/2000/svg" viewBox="${viewBox}">${body}</svg>`
const icons = [
  { file: 'icon-192.png', size: 192, svg: mark },
  { file: 'icon-512.png', size: 512, svg: mark },
  // The drawing's farthest point is 14.6 units from the centre; in a 44-unit box
  // that is 33 % of the size, inside the 40 % safe-zone radius.
  { file: 'icon-maskable-512.png', size: 512, svg: svg('-6 -6 44 44', `<rect x="-6" y="-6" width="44" height="44" fill="${SURFACE}"/>${drawing}`) },
  { file: 'apple-touch-icon.png', size: 180, svg: svg('-2 -2 36 36', `<rect x="-2" y="-2" width="36" height="36" fill="${SURFACE}"/>${drawing}`) },
]

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_BIN ?? '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--font-render-hinting=none'],
})
try {
  for (const icon of icons) {
    const page = await browser.newPage({ viewport: { width: icon.size, height: icon.size }, deviceScaleFactor: 1 })
    const sized = icon.svg.replace('<svg ', `<svg width="${icon.size}" height="${icon.size}" `)
    await page.setContent(
      `<!doctype html><html><body style="margin:0;background:transparent">${sized}</body></html>`,
    )
    const png = await page.screenshot({ omitBackground: true, clip: { x: 0, y: 0, width: icon.size, height: icon.size } })
    const file = resolve(out, icon.file)
    await writeFile(file, png)
    execFileSync('pngquant', ['--quality', '60-90', '--speed', '1', '--strip', '--force', '--ext', '.png', file])
    console.log(`${icon.file}: ${icon.size}×${icon.size}, ${png.length} → ${(await readFile(file)).length} bytes`)
    await page.close()
  }
} finally {
  await browser.close()
}
