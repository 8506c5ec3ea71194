// Accessibility end-to-end tests in real headless Chromium, against the real
// binary and the fake Gemini: axe-core over every state people meet (both views,
// RU/EN, phone and desktop, dark and light, after an answer and an analysis, an
// error, offline, the access-code screen), tap targets measured on a 360 px page,
// the layout at 200 % text (the browser's own font setting) and at 320 px, where
// focus lands in keyboard-only walks, the contrast of both themes computed from
// the page's styles, one status announcement per finished answer or analysis, and
// the upload's progress and the lighter upload on a throttled 3G link.
// The axe counts, the smallest target and the contrast minimums are written to
// target/e2e/a11y-report.json (and printed).
/* global document, window, getComputedStyle, MutationObserver, Element, HTMLElement */
import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { ARTIFACTS, REPO_ROOT, fakeControl, inlineImages, isGenerateCall, startStack, streamReply } from './support/harness.mjs'
import { jpegFrameSize } from './support/jpeg.mjs'
import { en, ru } from './support/messages.mjs'

const require = createRequire(import.meta.url)
const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8')
const SCREENSHOTS = process.env.E2E_DOCS_SCREENSHOTS ? join(REPO_ROOT, 'docs/screenshots') : null
const PHONE = { width: 360, height: 740 }
const DESKTOP = { width: 1280, height: 800 }
const ANSWER_TIMEOUT = 20_000
const ACCESS_CODE = 'e2e-a11y-code-2718'
const DICTIONARIES = { ru, en }

const ANSWER = [
  'Для стали 09Г2С подойдут электроды **УОНИ-13/55** (см. [ГОСТ 9467](https://example.org/gost-9467)).',
  '',
  '## Режим',
  '',
  '- Прокалите электроды при 350 °C.',
  '- Ток для Ø3 мм: 80–110 А.',
].join('\n')

const REPORT = [
  '## Оценка шва',
  '',
  'Шов **равномерный**, но есть подрез у верхней кромки.',
  '',
  '## Вердикт',
  '',
  'Требует доработки: подрез 0,5 мм нужно заварить.',
].join('\n')

/** Every axe run: the state, its violations by impact, and the rules. */
const axeLog = []
const report = { axe: axeLog, targets: [], contrast: {} }

let stack
let fake
/** A 3000×2000 JPEG with fine grain, so the prepared photo is a few hundred KB (worth a progress bar). */
let photoPath
let photoPath2

before(async () => {
  // Chromium's fake microphone (a tone) with its prompt answered yes: the recording bar can be checked.
  stack = await startStack({ browserArgs: ['--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream'] })
  fake = fakeControl(stack.fakeUrl)
  const bytes = await makePhoto(stack.browser)
  const dir = mkdtempSync(join(tmpdir(), 'weld-a11y-'))
  photoPath = join(dir, 'IMG_3001.jpg')
  photoPath2 = join(dir, 'IMG_3002.jpg')
  writeFileSync(photoPath, bytes)
  writeFileSync(photoPath2, bytes)
})

after(async () => {
  await stack?.stop()
  mkdirSync(ARTIFACTS, { recursive: true })
  writeFileSync(join(ARTIFACTS, 'a11y-report.json'), JSON.stringify(report, null, 2))
  if (axeLog.length > 0) {
    const lines = axeLog.map(
      (run) =>
        `${run.state.padEnd(58)} critical ${run.counts.critical} serious ${run.counts.serious} moderate ${run.counts.moderate} minor ${run.counts.minor}${run.rules.length ? `  [${run.rules.join(', ')}]` : ''}`,
    )
    console.log(`axe-core ${axeVersion()} — violated rules per state:\n${lines.join('\n')}`)
  }
})

function axeVersion() {
  return JSON.parse(readFileSync(require.resolve('axe-core/package.json'), 'utf8')).version
}

async function makePhoto(browser) {
  const context = await browser.newContext()
  try {
    const page = await context.newPage()
    const dataUrl = await page.evaluate(() => {
      const canvas = document.createElement('canvas')
      canvas.width = 3000
      canvas.height = 2000
      const ctx = canvas.getContext('2d')
      const plate = ctx.createLinearGradient(0, 0, 3000, 2000)
      plate.addColorStop(0, '#6b7280')
      plate.addColorStop(1, '#374151')
      ctx.fillStyle = plate
      ctx.fillRect(0, 0, 3000, 2000)
      for (let x = 100; x < 2900; x += 24) {
        const bead = ctx.createRadialGradient(x, 1000, 10, x, 1000, 90)
        bead.addColorStop(0, '#fde68a')
        bead.addColorStop(0.5, '#b45309')
        bead.addColorStop(1, 'rgba(55,65,81,0)')
        ctx.fillStyle = bead
        ctx.beginPath()
        ctx.ellipse(x, 1000, 60, 110, 0, 0, Math.PI * 2)
        ctx.fill()
      }
      // Grain, as a real photo has: it keeps the JPEG from shrinking to nothing.
      const image = ctx.getImageData(0, 0, 3000, 2000)
      let seed = 42
      for (let i = 0; i < image.data.length; i += 4) {
        seed = (seed * 1103515245 + 12345) & 0x7fffffff
        const grain = (seed % 41) - 20
        image.data[i] += grain
        image.data[i + 1] += grain
        image.data[i + 2] += grain
      }
      ctx.putImageData(image, 0, 0)
      return canvas.toDataURL('image/jpeg', 0.9)
    })
    return Buffer.from(dataUrl.slice(dataUrl.indexOf(',') + 1), 'base64')
  } finally {
    await context.close()
  }
}

/**
 * A fresh context and page in `language` with the system asking for `scheme`;
 * `storage` is put in localStorage before the app starts. Console errors are collected.
 */
async function openPage({ viewport = PHONE, language = 'ru', scheme = 'dark', storage = {}, path = '/', base } = {}) {
  const context = await stack.browser.newContext({
    viewport,
    locale: language === 'ru' ? 'ru-RU' : 'en-US',
    colorScheme: scheme,
  })
  await context.addInitScript((entries) => {
    for (const [key, value] of Object.entries(entries)) {
      if (window.localStorage.getItem(key) === null) window.localStorage.setItem(key, value)
    }
  }, { 'weld-assistant.language': language, ...storage })
  const page = await context.newPage()
  const problems = []
  page.on('console', (message) => {
    if (message.type() === 'error' && !/status of (4|5)\d\d|ERR_INTERNET_DISCONNECTED/.test(message.text())) {
      problems.push(`console: ${message.text()}`)
    }
  })
  page.on('pageerror', (error) => problems.push(`pageerror: ${error.message}`))
  await page.goto((base ?? stack.baseUrl) + path)
  // The session is checked: the tabs and the view are there.
  await page.locator('.app .tabs:not([hidden])').waitFor()
  return { context, page, problems }
}

async function withPage(options, body) {
  const { context, page, problems } = await openPage(options)
  try {
    await body(page, problems, context)
  } finally {
    await context.close()
  }
}

/** Runs axe-core over the page; records the counts; fails on a serious or critical violation. */
async function checkAxe(page, state) {
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(`${AXE_SOURCE}
;void 0`)
  // Let transitions and the lazy Markdown chunk settle.
  await page.waitForTimeout(100)
  const violations = await page.evaluate(async () => {
    const result = await window.axe.run(document, { resultTypes: ['violations'] })
    return result.violations.map((violation) => ({
      id: violation.id,
      impact: violation.impact,
      nodes: violation.nodes.slice(0, 4).map((node) => `${node.target.join(' ')} — ${node.failureSummary ?? ''}`),
    }))
  })
  const counts = { critical: 0, serious: 0, moderate: 0, minor: 0 }
  for (const violation of violations) counts[violation.impact ?? 'minor'] += 1
  axeLog.push({ state, counts, rules: violations.map((violation) => `${violation.id}:${violation.impact}`) })
  const bad = violations.filter((violation) => violation.impact === 'serious' || violation.impact === 'critical')
  assert.deepEqual(bad, [], `${state}: serious or critical axe violations`)
}

function input(page, t) {
  return page.getByRole('textbox', { name: t['chat.inputLabel'] })
}

async function ask(page, t, question) {
  await input(page, t).fill(question)
  await input(page, t).press('Enter')
}

/** Until no answer is streaming any more and Send is back. */
async function answerFinished(page, t) {
  await page.waitForFunction(() => document.querySelector('.streaming') === null, null, { timeout: ANSWER_TIMEOUT })
  await page.getByRole('button', { name: t['chat.send'] }).waitFor({ timeout: ANSWER_TIMEOUT })
}

async function openAnalyzer(page, t) {
  await page.getByRole('tab', { name: t['nav.analyze'] }).click()
  await page.getByRole('heading', { name: t['analyze.title'] }).waitFor()
}

async function choosePhotos(page, paths) {
  await page.locator('input[type="file"]:not([capture])').setInputFiles(paths)
  await page.waitForFunction((count) => document.querySelectorAll('figure.preview figcaption').length === count, paths.length, {
    timeout: ANSWER_TIMEOUT,
  })
}

async function analysisFinished(page) {
  await page.locator('section.result:not(.streaming) .report-actions').waitFor({ timeout: ANSWER_TIMEOUT })
}

/** The element that has focus, described: tag, classes, text. */
function focused(page) {
  return page.evaluate(() => {
    const element = document.activeElement
    if (!element || element === document.body) return { tag: 'body', text: '', className: '' }
    return {
      tag: element.tagName.toLowerCase(),
      className: typeof element.className === 'string' ? element.className : '',
      text: (element.textContent ?? '').trim().slice(0, 120),
      id: element.getAttribute('data-saved-id') ?? '',
      inView: (() => {
        const rect = element.getBoundingClientRect()
        return rect.top >= 0 && rect.top < window.innerHeight
      })(),
    }
  })
}

/** Presses Tab until `predicate(focused)` holds (at most `max` times). */
async function tabUntil(page, predicate, what, max = 40) {
  for (let i = 0; i < max; i++) {
    await page.keyboard.press('Tab')
    const now = await focused(page)
    if (predicate(now)) return now
  }
  throw new Error(`Tab never reached ${what}`)
}

/** Nothing wider than the viewport: no sideways scroll, nothing outside it (scrollable boxes excepted). */
async function horizontalOverflow(page) {
  return page.evaluate(() => {
    const width = document.documentElement.clientWidth
    const offenders = []
    for (const element of document.querySelectorAll('body *')) {
      const rect = element.getBoundingClientRect()
      if (rect.width === 0 || rect.height === 0) continue
      if (element.closest('.visually-hidden, .table-scroll, pre')) continue
      if (rect.right > width + 1 || rect.left < -1) {
        offenders.push(`${element.tagName.toLowerCase()}.${String(element.className)} [${Math.round(rect.left)}, ${Math.round(rect.right)}]`)
      }
      // Cut text: a box whose content is wider than the box (the badge cut to "Требуе").
      if (element.scrollWidth > element.clientWidth + 1 && getComputedStyle(element).overflowX === 'hidden' && element.clientWidth > 0) {
        offenders.push(`${element.tagName.toLowerCase()}.${String(element.className)} clips its text`)
      }
    }
    return { width, scrollWidth: document.documentElement.scrollWidth, offenders: offenders.slice(0, 10) }
  })
}

async function assertNoHorizontalOverflow(page, where) {
  const result = await horizontalOverflow(page)
  assert.ok(result.scrollWidth <= result.width, `${where}: the page scrolls sideways (${result.scrollWidth} > ${result.width})`)
  assert.deepEqual(result.offenders, [], `${where}: elements outside the viewport`)
}

/** Header items that overlap each other (RU/EN over the title). */
function headerOverlaps(page) {
  return page.evaluate(() => {
    const items = [...document.querySelectorAll('.app-header .brand-text, .app-header button')]
      .map((element) => ({ element, rect: element.getBoundingClientRect() }))
      .filter(({ rect }) => rect.width > 0)
    const overlaps = []
    for (let i = 0; i < items.length; i++) {
      for (let j = i + 1; j < items.length; j++) {
        const a = items[i].rect
        const b = items[j].rect
        if (a.left < b.right - 1 && b.left < a.right - 1 && a.top < b.bottom - 1 && b.top < a.bottom - 1) {
          overlaps.push(`${items[i].element.textContent} / ${items[j].element.textContent}`)
        }
      }
    }
    return overlaps
  })
}

/**
 * Every visible control's size and the gap to its nearest neighbour, with the page
 * scrolled to its end (the pinned composer then sits where it belongs). Links
 * inside text are WCAG 2.5.8's inline exception for width and spacing; their height
 * is still measured.
 */
function measureTargets(page) {
  return page.evaluate(() => {
    window.scrollTo(0, document.documentElement.scrollHeight)
    const selector =
      'a[href], button, input:not([type="hidden"]), textarea, select, summary, [role="tab"], [tabindex]:not([tabindex="-1"])'
    // The bars pinned to the screen (tabs at the top, the composer at the bottom): a
    // control of the page scrolled partly under one is not where it can be tapped
    // just then, so it is left out of this measurement (it is measured in place in
    // the other states), not counted as touching the bar's controls.
    const pinned = [...document.querySelectorAll('body *')].filter((element) => {
      const position = getComputedStyle(element).position
      return (position === 'sticky' || position === 'fixed') && element.getBoundingClientRect().height > 0
    })
    const underPinned = (element, rect) =>
      pinned.some((bar) => {
        if (bar.contains(element)) return false
        const edge = bar.getBoundingClientRect()
        return rect.top < edge.bottom && edge.top < rect.bottom && rect.left < edge.right && edge.left < rect.right
      })
    const controls = [...document.querySelectorAll(selector)]
      .filter((element) => {
        const rect = element.getBoundingClientRect()
        if (rect.width === 0 || rect.height === 0) return false
        if (element.closest('.visually-hidden, [hidden]')) return false
        if (underPinned(element, rect)) return false
        return getComputedStyle(element).visibility !== 'hidden'
      })
      .map((element) => {
        const rect = element.getBoundingClientRect()
        const inline = element.tagName === 'A' && getComputedStyle(element).display === 'inline'
        const name = (element.getAttribute('aria-label') ?? element.textContent ?? '').trim().slice(0, 40)
        return {
          element,
          inline,
          label: `${element.tagName.toLowerCase()}${element.className ? `.${String(element.className).split(' ')[0]}` : ''} "${name}"`,
          rect: { left: rect.left, top: rect.top, right: rect.right, bottom: rect.bottom, width: rect.width, height: rect.height },
        }
      })
    const gap = (a, b) => {
      const dx = Math.max(0, Math.max(a.left, b.left) - Math.min(a.right, b.right))
      const dy = Math.max(0, Math.max(a.top, b.top) - Math.min(a.bottom, b.bottom))
      return Math.max(dx, dy)
    }
    return controls.map((control) => {
      let nearest = Infinity
      let neighbour = ''
      if (!control.inline) {
        for (const other of controls) {
          if (other === control || other.inline) continue
          if (other.element.contains(control.element) || control.element.contains(other.element)) continue
          const distance = gap(control.rect, other.rect)
          if (distance < nearest) {
            nearest = distance
            neighbour = other.label
          }
        }
      }
      return {
        label: control.label,
        inline: control.inline,
        width: Math.round(control.rect.width * 10) / 10,
        height: Math.round(control.rect.height * 10) / 10,
        gap: nearest === Infinity ? null : Math.round(nearest * 10) / 10,
        neighbour,
      }
    })
  })
}

function checkTargets(measured, state) {
  const problems = []
  for (const target of measured) {
    if (target.height < 44 - 0.05) problems.push(`${target.label}: ${target.width}×${target.height} (under 44 px high)`)
    if (target.inline) continue
    if (target.width < 44 - 0.05) problems.push(`${target.label}: ${target.width}×${target.height} (under 44 px wide)`)
    if (target.gap !== null && target.gap < 8 - 0.05) problems.push(`${target.label}: ${target.gap} px from ${target.neighbour}`)
  }
  const blocks = measured.filter((target) => !target.inline)
  const smallest = blocks.reduce((min, target) => (Math.min(target.width, target.height) < Math.min(min.width, min.height) ? target : min))
  const closest = blocks.filter((target) => target.gap !== null).reduce((min, target) => (target.gap < min.gap ? target : min))
  report.targets.push({ state, controls: measured.length, smallest, closest })
  assert.deepEqual(problems, [], `${state}: controls too small or too close`)
  return { smallest, closest }
}

/**
 * Text and control-border contrast from the computed styles: the text colour over the
 * backgrounds behind it (semi-transparent layers blended), and each control's border
 * (or its fill when it has none) against what is behind the control.
 */
function measureContrast(page) {
  return page.evaluate(() => {
    const parse = (value) => {
      const match = /rgba?\(([^)]+)\)/.exec(value)
      if (!match) return null
      const parts = match[1].split(/[\s,/]+/).filter(Boolean).map(Number)
      return { r: parts[0], g: parts[1], b: parts[2], a: parts.length > 3 ? parts[3] : 1 }
    }
    const over = (top, bottom) => ({
      r: top.r * top.a + bottom.r * (1 - top.a),
      g: top.g * top.a + bottom.g * (1 - top.a),
      b: top.b * top.a + bottom.b * (1 - top.a),
      a: 1,
    })
    const luminance = ({ r, g, b }) => {
      const channel = (value) => {
        const v = value / 255
        return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4
      }
      return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)
    }
    const ratio = (a, b) => {
      const [x, y] = [luminance(a), luminance(b)].sort((p, q) => q - p)
      return (x + 0.05) / (y + 0.05)
    }
    /** The opaque colour behind `element` (its own background included when `self`). */
    const backdrop = (element, self = true) => {
      const layers = []
      for (let node = self ? element : element.parentElement; node; node = node.parentElement) {
        const color = parse(getComputedStyle(node).backgroundColor)
        if (color && color.a > 0) {
          layers.push(color)
          if (color.a >= 1) break
        }
      }
      let result = parse(getComputedStyle(document.documentElement).backgroundColor) ?? { r: 255, g: 255, b: 255, a: 1 }
      for (const layer of layers.reverse()) result = over(layer, result)
      return result
    }
    const visible = (element) => {
      const rect = element.getBoundingClientRect()
      if (rect.width === 0 || rect.height === 0) return false
      if (element.closest('.visually-hidden, [hidden], [aria-hidden="true"]')) return false
      return getComputedStyle(element).visibility !== 'hidden'
    }
    const name = (element) =>
      `${element.tagName.toLowerCase()}${element.className && typeof element.className === 'string' ? `.${element.className.split(' ')[0]}` : ''} "${(element.textContent ?? '').trim().slice(0, 30)}"`
    const texts = []
    for (const element of document.querySelectorAll('body *')) {
      if (!visible(element) || element.closest(':disabled')) continue
      const ownText = [...element.childNodes].some((node) => node.nodeType === 3 && node.textContent.trim() !== '')
      if (!ownText) continue
      const color = parse(getComputedStyle(element).color)
      if (!color) continue
      const background = backdrop(element)
      texts.push({ element: name(element), ratio: ratio(over(color, background), background) })
    }
    for (const field of document.querySelectorAll('textarea, input')) {
      if (!visible(field) || field.value !== '') continue
      const color = parse(getComputedStyle(field, '::placeholder').color)
      if (!color || !field.placeholder) continue
      const background = backdrop(field)
      texts.push({ element: `${name(field)} placeholder`, ratio: ratio(over(color, background), background) })
    }
    const borders = []
    for (const control of document.querySelectorAll('button, textarea, input:not([type="hidden"]), [role="tab"]')) {
      if (!visible(control) || control.disabled) continue
      const style = getComputedStyle(control)
      const behind = backdrop(control, false)
      const sides = ['Top', 'Right', 'Bottom', 'Left'].filter(
        (side) => parseFloat(style[`border${side}Width`]) > 0 && (parse(style[`border${side}Color`])?.a ?? 0) > 0,
      )
      if (sides.length > 0) {
        const border = parse(style[`border${sides[0]}Color`])
        borders.push({ element: name(control), ratio: ratio(over(border, behind), behind) })
        continue
      }
      const fill = parse(style.backgroundColor)
      if (fill && fill.a > 0) borders.push({ element: `${name(control)} fill`, ratio: ratio(over(fill, behind), behind) })
    }
    return { texts, borders }
  })
}

function checkContrast(measured, state) {
  const lowText = measured.texts.filter((item) => item.ratio < 7 - 0.005)
  const lowBorders = measured.borders.filter((item) => item.ratio < 3 - 0.005)
  const minText = Math.min(...measured.texts.map((item) => item.ratio))
  const minBorder = Math.min(...measured.borders.map((item) => item.ratio))
  report.contrast[state] = { texts: measured.texts.length, minText: +minText.toFixed(2), borders: measured.borders.length, minBorder: +minBorder.toFixed(2) }
  assert.deepEqual(lowText.map((item) => `${item.element}: ${item.ratio.toFixed(2)}`), [], `${state}: text under 7:1`)
  assert.deepEqual(lowBorders.map((item) => `${item.element}: ${item.ratio.toFixed(2)}`), [], `${state}: control border under 3:1`)
  assert.ok(measured.texts.length > 10 && measured.borders.length > 2, `${state}: too little measured`)
}

/** Records what screen readers would hear: text added inside live regions (aria-live, status, log, alert). */
async function recordAnnouncements(page) {
  await page.evaluate(() => {
    const spoken = []
    window.__announcements = spoken
    const liveRegion = (node) => {
      for (let element = node instanceof Element ? node : node.parentElement; element; element = element.parentElement) {
        const live = element.getAttribute('aria-live')
        if (live !== null) return live === 'off' ? null : element
        const role = element.getAttribute('role')
        if (role === 'status' || role === 'log' || role === 'alert') return element
      }
      return null
    }
    new MutationObserver((mutations) => {
      for (const mutation of mutations) {
        if (!liveRegion(mutation.target)) continue
        if (mutation.type === 'characterData') {
          spoken.push(mutation.target.textContent.trim())
          continue
        }
        for (const node of mutation.addedNodes) {
          if (node instanceof HTMLElement && node.closest('[aria-hidden="true"]')) continue
          const text = (node.textContent ?? '').trim()
          if (text !== '') spoken.push(text)
        }
      }
    }).observe(document.body, { subtree: true, childList: true, characterData: true })
  })
}

function announcements(page) {
  return page.evaluate(() => window.__announcements)
}

/** A screenshot in target/e2e; also in docs/screenshots when `docs` (the dark ones there come from app.e2e.mjs). */
async function shoot(page, name, docs = true) {
  const shot = await page.screenshot({ path: join(ARTIFACTS, `${name}.png`) })
  if (SCREENSHOTS && docs) {
    mkdirSync(SCREENSHOTS, { recursive: true })
    writeFileSync(join(SCREENSHOTS, `${name}.png`), shot)
  }
}

describe('accessibility in Chromium', () => {
  test('the axe check itself fails on a nameless button and unreadable text', async () => {
    const context = await stack.browser.newContext()
    try {
      const page = await context.newPage()
      await page.setContent('<main><h1>x</h1><button><svg width="20" height="20"></svg></button><p style="color:#777;background:#888">faint</p></main>')
      await assert.rejects(checkAxe(page, 'a broken page (must fail)'), /serious or critical/)
      axeLog.pop()
    } finally {
      await context.close()
    }
  })

  const combos = []
  for (const viewport of ['phone', 'desktop']) {
    for (const language of ['ru', 'en']) {
      for (const scheme of ['dark', 'light']) combos.push({ viewport, language, scheme })
    }
  }

  for (const { viewport, language, scheme } of combos) {
    test(`axe: no serious or critical violation — ${viewport}, ${language}, ${scheme}`, async () => {
      const t = DICTIONARIES[language]
      const label = (state) => `${state} (${viewport}, ${language}, ${scheme})`
      await fake.script([
        streamReply(ANSWER),
        { status: 400, fixture: 'error_400_location.json' },
        streamReply(REPORT),
      ])
      await withPage({ viewport: viewport === 'phone' ? PHONE : DESKTOP, language, scheme }, async (page, problems, context) => {
        assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), scheme, 'the theme follows the system')
        await checkAxe(page, label('chat, empty'))

        await ask(page, t, 'Какой электрод для 09Г2С?')
        await page.locator('.message-model .markdown a').waitFor({ timeout: ANSWER_TIMEOUT })
        await answerFinished(page, t)
        await checkAxe(page, label('chat, after an answer'))

        await ask(page, t, 'Какой газ для TIG?')
        await page.locator('.error-notice').waitFor({ timeout: ANSWER_TIMEOUT })
        await checkAxe(page, label('chat, an error'))

        await context.setOffline(true)
        await page.locator('.offline-banner').waitFor()
        await checkAxe(page, label('chat, offline'))
        await context.setOffline(false)
        await page.locator('.offline-banner').waitFor({ state: 'detached' })

        await openAnalyzer(page, t)
        await checkAxe(page, label('analyzer, empty'))
        await choosePhotos(page, [photoPath])
        await checkAxe(page, label('analyzer, a photo chosen'))
        await page.getByRole('button', { name: t['analyze.submit'], exact: true }).click()
        await analysisFinished(page)
        await checkAxe(page, label('analyzer, after an analysis'))

        await page.locator('.saved-open').first().click()
        await page.getByRole('button', { name: t['saved.close'] }).waitFor()
        await checkAxe(page, label('analyzer, a saved analysis opened'))
        assert.deepEqual(problems, [])
      })
    })
  }

  test('axe, targets and focus on a server that wants an access code', async () => {
    const coded = await startStack({ serverEnv: { WELD_ACCESS_CODE: ACCESS_CODE } })
    try {
      for (const [language, scheme] of [
        ['ru', 'dark'],
        ['en', 'light'],
      ]) {
        const t = DICTIONARIES[language]
        const context = await coded.browser.newContext({ viewport: PHONE, locale: 'ru-RU', colorScheme: scheme })
        await context.addInitScript((value) => window.localStorage.setItem('weld-assistant.language', value), language)
        try {
          const page = await context.newPage()
          await page.goto(coded.baseUrl + '/')
          const code = page.getByLabel(t['access.label'], { exact: true })
          await code.waitFor()
          await checkAxe(page, `access code screen (phone, ${language}, ${scheme})`)
          checkTargets(await measureTargets(page), `access code screen (phone, ${language})`)

          await code.fill('wrong-code')
          await code.press('Enter')
          await page.locator('.access-error').filter({ hasText: t['access.invalid'] }).waitFor()
          await checkAxe(page, `access code, a wrong code (phone, ${language}, ${scheme})`)

          await code.fill(ACCESS_CODE)
          await code.press('Enter')
          await input(page, t).waitFor()
          // The code screen has gone: focus is on the current view's tab, not lost.
          await page.waitForFunction(() => document.activeElement?.getAttribute('role') === 'tab')
          assert.equal((await focused(page)).text, t['nav.chat'])
          // The header now has Sign out beside the theme and language switches.
          await page.getByRole('button', { name: t['access.signOut'] }).waitFor()
          checkTargets(await measureTargets(page), `header with sign-out (phone, ${language})`)
          await checkAxe(page, `chat after the code (phone, ${language}, ${scheme})`)
          assert.deepEqual(await headerOverlaps(page), [])
        } finally {
          await context.close()
        }
      }
    } finally {
      await coded.stop()
    }
  })

  test('every control is at least 44 × 44 px with 8 px to its neighbours on a 360 px phone', async () => {
    await fake.script([streamReply(ANSWER), streamReply(REPORT)])
    await withPage({ viewport: PHONE }, async (page) => {
      checkTargets(await measureTargets(page), 'chat, empty (examples)')
      await ask(page, ru, 'Какой электрод для 09Г2С?')
      await page.locator('.message-model .markdown a').waitFor({ timeout: ANSWER_TIMEOUT })
      await answerFinished(page, ru)
      const chat = await measureTargets(page)
      const link = chat.find((target) => target.inline)
      assert.ok(link, 'the answer has a link')
      assert.ok(link.height >= 44, `a link in an answer is a 44 px tall target: ${link.height}`)
      checkTargets(chat, 'chat, after an answer')

      await openAnalyzer(page, ru)
      checkTargets(await measureTargets(page), 'analyzer, empty')
      await choosePhotos(page, [photoPath, photoPath2])
      checkTargets(await measureTargets(page), 'analyzer, two photos chosen')
      await page.getByRole('button', { name: ru['analyze.submit'], exact: true }).click()
      await analysisFinished(page)
      checkTargets(await measureTargets(page), 'analyzer, after an analysis, with the saved list')
      await page.locator('.saved-open').first().click()
      await page.getByRole('button', { name: ru['saved.close'] }).waitFor()
      checkTargets(await measureTargets(page), 'analyzer, a saved analysis opened')
    })
    const all = report.targets.map((entry) => entry.smallest)
    const smallest = all.reduce((min, target) => (Math.min(target.width, target.height) < Math.min(min.width, min.height) ? target : min))
    const closest = report.targets.map((entry) => entry.closest).reduce((min, target) => (target.gap < min.gap ? target : min))
    report.smallestTarget = smallest
    report.closestTargets = closest
    console.log(`smallest tap target: ${smallest.label} ${smallest.width}×${smallest.height} px; closest pair: ${closest.label} ${closest.gap} px from ${closest.neighbour}`)
  })

  test('200 % text (the browser setting) and a 320 px page: no sideways scroll, nothing cut or covered', async () => {
    await fake.script([streamReply(ANSWER), streamReply(REPORT)])
    const { context, page } = await openPage({ viewport: PHONE })
    try {
      const cdp = await context.newCDPSession(page)
      await cdp.send('Page.enable')
      await cdp.send('Page.setFontSizes', { fontSizes: { standard: 32, fixed: 26 } })
      await page.reload()
      await page.locator('.app').waitFor()
      assert.equal(await page.evaluate(() => getComputedStyle(document.documentElement).fontSize), '32px', 'the root follows the browser text size')
      await assertNoHorizontalOverflow(page, 'chat at 200 %')
      assert.deepEqual(await headerOverlaps(page), [], 'header items overlap at 200 %')

      await ask(page, ru, 'Какой электрод для 09Г2С?')
      await page.locator('.message-model .markdown a').waitFor({ timeout: ANSWER_TIMEOUT })
      await answerFinished(page, ru)
      await assertNoHorizontalOverflow(page, 'chat after an answer at 200 %')
      // The text box is not squeezed by the microphone and Send: it takes the line, they wrap together.
      const composer = await page.evaluate(() =>
        ['.composer-input', '.mic-button', '.send-button'].map((selector) => {
          const rect = document.querySelector(selector).getBoundingClientRect()
          return { left: Math.round(rect.left), right: Math.round(rect.right), top: Math.round(rect.top), width: Math.round(rect.width) }
        }),
      )
      assert.ok(composer[0].width >= 300, `the text box keeps the width of the page at 200 %: ${JSON.stringify(composer)}`)
      assert.ok(composer[1].top === composer[2].top && composer[2].left > composer[1].right, `microphone and Send on one row: ${JSON.stringify(composer)}`)
      await shoot(page, 'chat-mobile-large-text')

      await openAnalyzer(page, ru)
      await choosePhotos(page, [photoPath])
      await page.getByRole('button', { name: ru['analyze.submit'], exact: true }).click()
      await analysisFinished(page)
      await assertNoHorizontalOverflow(page, 'analysis at 200 %')
      const badge = await page.locator('section.result .verdict, .saved-analyses .verdict').first()
      if ((await badge.count()) > 0) {
        assert.equal(await badge.evaluate((element) => element.scrollWidth <= element.clientWidth + 1), true, 'the verdict badge is not cut')
        assert.match(await badge.innerText(), new RegExp(ru['verdict.rework']))
      }
      await page.locator('.saved-open').first().click()
      await page.getByRole('button', { name: ru['saved.close'] }).waitFor()
      await assertNoHorizontalOverflow(page, 'saved analysis at 200 %')
    } finally {
      await context.close()
    }

    // 320 × 256 CSS px: a 1280 × 1024 screen at 400 % page zoom (WCAG 1.4.10 reflow).
    await fake.script([streamReply(ANSWER)])
    await withPage({ viewport: { width: 320, height: 256 } }, async (page) => {
      await assertNoHorizontalOverflow(page, 'chat at 320 px')
      await ask(page, ru, 'Какой электрод для 09Г2С?')
      await page.locator('.message-model .markdown a').waitFor({ timeout: ANSWER_TIMEOUT })
      await answerFinished(page, ru)
      await assertNoHorizontalOverflow(page, 'chat after an answer at 320 px')
      // The conversation is not squeezed into a sliver: the answer is laid out whole.
      const answer = page.locator('.message-model').last()
      const height = await answer.evaluate((element) => element.getBoundingClientRect().height)
      assert.ok(height > 150, `the answer has its full height: ${height}`)
      assert.equal(await page.evaluate(() => document.documentElement.scrollHeight > window.innerHeight), true, 'the page scrolls instead')
      await openAnalyzer(page, ru)
      await assertNoHorizontalOverflow(page, 'analyzer at 320 px')
    })
  })

  test('keyboard only: focus lands on Stop, then the answer; on the report heading; on an opened analysis; back on the list', async () => {
    await fake.script([
      streamReply(['Первая часть. ', 'Вторая часть. ', 'Третья — **финал**.'], { chunkDelayMs: 500 }),
      streamReply(REPORT, { delayMs: 800 }),
    ])
    const earlier = [1, 2, 3].map((n) => ({
      id: `e2e-saved-${n}`,
      date: new Date(Date.UTC(2026, 10, n, 9, 30)).toISOString(),
      report: `**Пористость** обнаружена в корне шва ${n}.\n\n- Подрез \`0,5 мм\``,
      note: '',
      thumbnails: [],
      photoCount: 1,
    }))
    await withPage({ viewport: DESKTOP, storage: { 'weld-assistant.analyses.v1': JSON.stringify({ analyses: earlier }) } }, async (page) => {
      // Chat: Tab to the question, type, Tab to Send, Enter.
      await tabUntil(page, (now) => now.tag === 'textarea', 'the question box')
      await page.keyboard.type('Расскажите по частям')
      const send = await tabUntil(page, (now) => now.className.includes('send-button'), 'Send', 3)
      assert.equal(send.tag, 'button')
      await page.keyboard.press('Enter')
      await page.waitForFunction(() => document.activeElement?.classList.contains('stop-button'), null, { timeout: 5_000 })
      await answerFinished(page, ru)
      await page.waitForFunction(() => document.activeElement?.classList.contains('message-model'))
      assert.match((await focused(page)).text, /Третья — финал/, 'focus is on the answer')

      // Analyzer: the saved list shows no Markdown syntax.
      await page.getByRole('tab', { name: ru['nav.chat'] }).focus()
      await page.keyboard.press('ArrowRight')
      await page.getByRole('heading', { name: ru['analyze.title'] }).waitFor()
      const listText = await page.locator('.saved-analyses').innerText()
      assert.doesNotMatch(listText, /\*\*|`/, `the saved list shows no Markdown: ${listText}`)
      assert.match(listText, /Пористость обнаружена в корне шва 1/)

      // Choose two photos from the focused picker button. The files are handed to the
      // input directly: headless Chromium does not always report the system dialog
      // that Enter opens, and what matters here is where focus goes afterwards.
      await tabUntil(page, (now) => now.text === ru['analyze.choose'], 'Choose photos')
      await page.locator('input[type="file"]:not([capture])').setInputFiles([photoPath, photoPath2])
      await page.waitForFunction(() => document.querySelectorAll('figure.preview figcaption').length === 2, null, { timeout: ANSWER_TIMEOUT })
      const afterChoose = await focused(page)
      assert.notEqual(afterChoose.tag, 'body', 'focus is not lost when the picker goes away')
      assert.equal(afterChoose.text, ru['analyze.addMore'])

      // Remove the first photo: focus goes to the next photo's remove button.
      await page.getByRole('button', { name: ru['analyze.removePhoto'].replace('{n}', '1') }).focus()
      await page.keyboard.press('Enter')
      await page.waitForFunction(() => document.querySelectorAll('figure.preview').length === 1)
      assert.equal((await focused(page)).className, 'photo-remove', 'focus is on the remaining photo')

      // Analyze: Stop takes focus, then the report's heading.
      await tabUntil(page, (now) => now.text === ru['analyze.submit'], 'Analyze')
      await page.keyboard.press('Enter')
      await analysisFinished(page)
      await page.waitForFunction((title) => document.activeElement?.textContent === title, ru['analyze.resultTitle'])
      assert.equal((await focused(page)).tag, 'h3')

      // Open a saved analysis: its heading takes focus, on screen.
      const target = earlier[1].id
      await tabUntil(page, (now) => now.id === target, 'the second earlier analysis', 60)
      await page.keyboard.press('Enter')
      await page.waitForFunction(() => document.activeElement?.tagName === 'H3' && /^Анализ от /.test(document.activeElement.textContent ?? ''))
      assert.equal((await focused(page)).inView, true, 'the opened analysis is scrolled into view')

      // Close it: focus is back on that analysis in the list.
      await tabUntil(page, (now) => now.text === ru['saved.close'], 'Close')
      await page.keyboard.press('Enter')
      await page.waitForFunction((id) => document.activeElement?.getAttribute('data-saved-id') === id, target)

      // Delete it: focus moves to the next one in the list.
      await page.keyboard.press('Tab')
      assert.match((await focused(page)).className, /saved-delete/)
      await page.keyboard.press('Enter')
      await page.waitForFunction(
        (id) => document.activeElement?.classList.contains('saved-open') && document.activeElement.getAttribute('data-saved-id') === id,
        earlier[2].id,
      )
    })
  })

  test('one polite status per finished answer and analysis; the answer is not read again', async () => {
    await fake.script([streamReply(['Ток ', 'для Ø3 мм: ', '**80–110 А**.'], { chunkDelayMs: 200 }), streamReply(REPORT)])
    await withPage({ viewport: PHONE }, async (page) => {
      await recordAnnouncements(page)
      await ask(page, ru, 'Какой ток?')
      await answerFinished(page, ru)
      await page.waitForTimeout(300)
      const chat = await announcements(page)
      assert.equal(chat.filter((text) => text === ru['chat.answered']).length, 1, `one "answered": ${JSON.stringify(chat)}`)
      assert.equal(chat.some((text) => /80–110|Ток для/.test(text)), false, `the answer itself is not announced: ${JSON.stringify(chat)}`)
      assert.deepEqual(chat, [ru['chat.thinking'], ru['chat.answered']])

      await openAnalyzer(page, ru)
      await recordAnnouncements(page)
      await choosePhotos(page, [photoPath])
      await page.getByRole('button', { name: ru['analyze.submit'], exact: true }).click()
      await analysisFinished(page)
      await page.waitForTimeout(300)
      const analysis = await announcements(page)
      const ready = ru['analyze.readyVerdict'].replace('{verdict}', ru['verdict.rework'])
      assert.equal(analysis.filter((text) => text === ready).length, 1, `one "analysis ready": ${JSON.stringify(analysis)}`)
      assert.equal(analysis.some((text) => /равномерный|подрез/i.test(text)), false, `the report is not announced: ${JSON.stringify(analysis)}`)
    })
  })

  test('light theme: follows the system, the switch wins and is kept; text ≥ 7:1 and control borders ≥ 3:1 in both themes', async () => {
    await fake.script([streamReply(ANSWER), streamReply(REPORT)])
    await withPage({ viewport: PHONE, scheme: 'dark' }, async (page) => {
      const theme = () => page.evaluate(() => document.documentElement.dataset.theme)
      assert.equal(await theme(), 'dark')
      const toggle = page.getByRole('button', { name: ru['theme.light'] })
      assert.equal(await toggle.getAttribute('aria-pressed'), 'false')
      await toggle.click()
      assert.equal(await theme(), 'light')
      assert.equal(await toggle.getAttribute('aria-pressed'), 'true')
      await page.reload()
      await page.locator('.app').waitFor()
      assert.equal(await theme(), 'light', 'the choice is kept on the device')
      assert.equal(await page.evaluate(() => window.localStorage.getItem('weld-assistant.theme')), 'light')

      for (const scheme of ['light', 'dark']) {
        if ((await theme()) !== scheme) await page.getByRole('button', { name: ru['theme.light'] }).click()
        assert.equal(await theme(), scheme)
        await page.getByRole('tab', { name: ru['nav.chat'] }).click()
        if ((await page.locator('.message-user').count()) === 0) {
          await ask(page, ru, 'Какой электрод для 09Г2С?')
          await page.locator('.message-model .markdown a').waitFor({ timeout: ANSWER_TIMEOUT })
          await answerFinished(page, ru)
        }
        checkContrast(await measureContrast(page), `chat, ${scheme}`)
        await shoot(page, `chat-mobile-${scheme}`, scheme === 'light')
        await openAnalyzer(page, ru)
        if ((await page.locator('.saved-analyses').count()) === 0) {
          await choosePhotos(page, [photoPath])
          await page.getByRole('button', { name: ru['analyze.submit'], exact: true }).click()
          await analysisFinished(page)
        }
        checkContrast(await measureContrast(page), `analysis, ${scheme}`)
        await page.locator('section.result').scrollIntoViewIfNeeded()
        await shoot(page, `analyze-mobile-${scheme}`, scheme === 'light')
      }
    })
    // Windows high contrast: the system colours are used, and the pressed language
    // and the controls still show their edges.
    const context = await stack.browser.newContext({ viewport: PHONE, locale: 'ru-RU', forcedColors: 'active' })
    try {
      const page = await context.newPage()
      await page.goto(stack.baseUrl + '/')
      await page.locator('.app').waitFor()
      assert.equal(await page.evaluate(() => window.matchMedia('(forced-colors: active)').matches), true)
      const borders = await page.evaluate(() =>
        [...document.querySelectorAll('.language-switch button, .theme-switch, .chip, .send-button')].map(
          (element) => getComputedStyle(element).borderTopStyle,
        ),
      )
      assert.ok(borders.length > 4 && borders.every((style) => style === 'solid'), `controls keep a border: ${borders}`)
      await checkAxe(page, 'chat, empty (phone, ru, forced colours)')
    } finally {
      await context.close()
    }
  })

  test('the microphone and the recording bar: in the composer row, axe, 44 px targets, contrast in both themes and forced colours', async () => {
    for (const [language, scheme] of [
      ['ru', 'dark'],
      ['en', 'light'],
    ]) {
      const t = DICTIONARIES[language]
      const state = (what) => `${what} (phone, ${language}, ${scheme})`
      await withPage({ viewport: PHONE, language, scheme }, async (page, problems, context) => {
        await context.grantPermissions(['microphone'], { origin: stack.baseUrl })
        // Text box, microphone, Send: one row, in that order, 8 px apart, none under 44 px.
        const row = await page.evaluate(() =>
          ['.composer-input', '.mic-button', '.send-button'].map((selector) => {
            const rect = document.querySelector(selector).getBoundingClientRect()
            return { left: rect.left, right: rect.right, top: rect.top, bottom: rect.bottom, width: rect.width, height: rect.height }
          }),
        )
        const [text, mic, send] = row
        assert.ok(mic.left >= text.right + 8 - 0.5 && send.left >= mic.right + 8 - 0.5, `order and gaps: ${JSON.stringify(row)}`)
        assert.ok(mic.left - text.right <= 8.5 && send.left - mic.right <= 8.5, `8 px gaps, not more: ${JSON.stringify(row)}`)
        assert.ok(Math.abs(mic.bottom - send.bottom) < 1 && Math.abs(mic.bottom - text.bottom) < 1, `one row: ${JSON.stringify(row)}`)
        assert.ok(mic.width >= 44 && mic.height >= 44 && mic.width === mic.height, `mic ${mic.width}×${mic.height}`)
        assert.equal(
          await page.evaluate(() => getComputedStyle(document.querySelector('.composer')).position),
          'sticky',
          'the composer stays pinned to the bottom with the microphone in it',
        )

        // Start recording from the keyboard (tap mode): the bar shows the time.
        await page.getByRole('button', { name: t['voice.start'] }).focus()
        await page.keyboard.press('Enter')
        await page.getByRole('timer').waitFor({ timeout: ANSWER_TIMEOUT })
        await page.getByRole('button', { name: t['voice.cancel'] }).waitFor()
        await checkAxe(page, state('chat, recording'))
        checkTargets(await measureTargets(page), state('chat, recording'))
        checkContrast(await measureContrast(page), state('chat, recording'))
        const bar = await page.locator('.voice-bar').boundingBox()
        const composer = await page.locator('.composer').boundingBox()
        assert.ok(bar && composer && bar.y + bar.height <= composer.y + 0.5, `the bar sits above the composer: ${JSON.stringify({ bar, composer })}`)
        await shoot(page, `voice-recording-mobile-${scheme}`, false)
        await page.keyboard.press('Escape')
        await page.locator('.voice-bar').waitFor({ state: 'detached' })
        assert.deepEqual(problems, [])
      })
    }

    const context = await stack.browser.newContext({ viewport: PHONE, locale: 'ru-RU', forcedColors: 'active' })
    try {
      await context.grantPermissions(['microphone'], { origin: stack.baseUrl })
      const page = await context.newPage()
      await page.goto(stack.baseUrl + '/')
      await page.locator('.app').waitFor()
      await page.getByRole('button', { name: ru['voice.start'] }).focus()
      await page.keyboard.press('Enter')
      await page.getByRole('timer').waitFor({ timeout: ANSWER_TIMEOUT })
      const edges = await page.evaluate(() =>
        ['.mic-button', '.voice-cancel', '.voice-bar'].map((selector) => {
          const style = getComputedStyle(document.querySelector(selector))
          return `${selector} ${style.borderTopStyle} ${style.borderTopWidth}`
        }),
      )
      assert.deepEqual(edges, ['.mic-button solid 3px', '.voice-cancel solid 1px', '.voice-bar solid 1px'], 'recording shows as a thick ring')
      await checkAxe(page, 'chat, recording (phone, ru, forced colours)')
      await shoot(page, 'voice-recording-mobile-forced-colors', false)
      await page.keyboard.press('Escape')
    } finally {
      await context.close()
    }
  })

  test('on a throttled 3G link the upload shows size and time left, and photos are prepared at 1280 px', async () => {
    await fake.script([streamReply(REPORT), streamReply(REPORT)])
    const { context, page } = await openPage({ viewport: PHONE, path: '/analyze' })
    try {
      const before = (await fake.received()).length
      // 400 kbit/s up and down, 400 ms round trip: Chromium's NetInfo then says "3g".
      const cdp = await context.newCDPSession(page)
      await cdp.send('Network.enable')
      await cdp.send('Network.emulateNetworkConditions', {
        offline: false,
        latency: 400,
        downloadThroughput: 50_000,
        uploadThroughput: 50_000,
        connectionType: 'cellular3g',
      })
      await page.reload()
      await page.getByRole('heading', { name: ru['analyze.title'] }).waitFor()
      assert.equal(await page.evaluate(() => navigator.connection?.effectiveType), '3g')
      const light = page.getByRole('button', { name: ru['analyze.light'].replace('{px}', '1280') })
      assert.equal(await light.getAttribute('aria-pressed'), 'true', 'the lighter upload is on by itself on 3G')
      await page.getByText(ru['analyze.lightAuto']).waitFor()
      await choosePhotos(page, [photoPath])
      await page.getByRole('button', { name: ru['analyze.submit'], exact: true }).click()

      // The progress shows bytes sent of the total, then the time left.
      const progress = page.locator('.upload-progress')
      await progress.waitFor({ timeout: ANSWER_TIMEOUT })
      const seen = new Set()
      while ((await progress.count()) > 0) {
        seen.add(await progress.locator('p').innerText().catch(() => ''))
        await page.waitForTimeout(150)
      }
      await analysisFinished(page)
      const texts = [...seen].filter(Boolean)
      assert.ok(texts.some((text) => /^Отправка фото: \d+ КБ из \d+ КБ/.test(text)), `size shown: ${JSON.stringify(texts)}`)
      assert.ok(texts.some((text) => /осталось около \d+ с/.test(text)), `time left shown: ${JSON.stringify(texts)}`)

      const calls = (await fake.received()).slice(before).filter(isGenerateCall)
      const frame = jpegFrameSize(Buffer.from(inlineImages(calls.at(-1).body)[0].data, 'base64'))
      assert.equal(Math.max(frame.width, frame.height), 1280, `prepared at 1280 px: ${frame.width}×${frame.height}`)
      report.upload = { progressTexts: texts.slice(0, 3).concat(texts.slice(-2)), sentImage: `${frame.width}×${frame.height}` }

      // Turned off by hand, the next photos go at the full 2048 px, and the choice is kept.
      await page.getByRole('button', { name: ru['analyze.another'] }).click()
      await light.click()
      assert.equal(await light.getAttribute('aria-pressed'), 'false')
      await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 })
      await choosePhotos(page, [photoPath])
      await page.getByRole('button', { name: ru['analyze.submit'], exact: true }).click()
      await analysisFinished(page)
      const again = (await fake.received()).slice(before).filter(isGenerateCall)
      const full = jpegFrameSize(Buffer.from(inlineImages(again.at(-1).body)[0].data, 'base64'))
      assert.equal(Math.max(full.width, full.height), 2048)
      assert.equal(await page.evaluate(() => window.localStorage.getItem('weld-assistant.lightUpload')), 'off')
    } finally {
      await context.close()
    }
  })
})
