// End-to-end tests of Weld Assistant in real headless Chromium: the Rust
// binary serves the built SPA and /api on one origin and talks to a fake
// Gemini. Run with `npm run e2e` (binaries: `cargo build --example
// fake_gemini && cargo build`; override with WELD_BIN / FAKE_BIN).
/* global document, HTMLImageElement */
import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync, readFileSync, mkdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { en, ru, ruErrors } from './support/messages.mjs'
import {
  ARTIFACTS,
  CANARY_KEY,
  REPO_ROOT,
  fakeControl,
  inlineImages,
  isGenerateCall,
  requestText,
  startStack,
  streamReply,
} from './support/harness.mjs'
import { containsExifHeader, exifGpsSegment, hasExifApp1, jpegFrameSize, spliceAfterSoi } from './support/jpeg.mjs'

const SCREENSHOTS = process.env.E2E_DOCS_SCREENSHOTS
  ? join(REPO_ROOT, 'docs/screenshots')
  : null
const MOBILE = { width: 360, height: 740 }
const DESKTOP = { width: 1280, height: 800 }
const ANSWER_TIMEOUT = 15_000

const MARKDOWN_ANSWER = [
  'Для стали 09Г2С подойдут электроды **УОНИ-13/55**.',
  '',
  '- Прокалите электроды перед сваркой при 350 °C.',
  '- Ток для Ø3 мм: 80–110 А.',
].join('\n')

const REPORT = [
  '## Оценка шва',
  '',
  'Шов в целом **равномерный**, чешуйчатость ровная.',
  '',
  '- Подрез у верхней кромки, глубина около 0,5 мм.',
  '- Поры не видны.',
  '',
  '**Рекомендация:** уменьшить ток на 10 %.',
].join('\n')

let stack
let fake
/** A real JPEG, 3000×2000, with an EXIF/GPS APP1 after SOI (built once). */
let photoPath
let photoBytes

before(async () => {
  stack = await startStack()
  fake = fakeControl(stack.fakeUrl)
  photoBytes = await makeExifJpeg(stack.browser)
  const dir = mkdtempSync(join(tmpdir(), 'weld-e2e-'))
  photoPath = join(dir, 'IMG_2041.jpg')
  writeFileSync(photoPath, photoBytes)
})

after(async () => {
  await stack?.stop()
})

/** Draws a 3000×2000 "weld" in a page canvas, encodes it as JPEG and adds EXIF/GPS. */
async function makeExifJpeg(browser) {
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
      // A bead of overlapping ripples along the joint.
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
      return canvas.toDataURL('image/jpeg', 0.9)
    })
    const jpeg = Buffer.from(dataUrl.slice(dataUrl.indexOf(',') + 1), 'base64')
    return spliceAfterSoi(jpeg, exifGpsSegment())
  } finally {
    await context.close()
  }
}

/** A fresh context and page; console errors and page errors are collected. */
async function openPage(path = '/', viewport = DESKTOP) {
  // Dark, the app's own look (a11y.e2e.mjs covers the light theme).
  const context = await stack.browser.newContext({ viewport, locale: 'ru-RU', colorScheme: 'dark' })
  const page = await context.newPage()
  const problems = []
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console: ${message.text()}`)
  })
  page.on('pageerror', (error) => problems.push(`pageerror: ${error.message}`))
  await page.goto(stack.baseUrl + path)
  await page.locator('.app').waitFor()
  return { context, page, problems }
}

async function withPage(path, viewport, body) {
  const { context, page, problems } = await openPage(path, viewport)
  try {
    await body(page, problems)
  } finally {
    await context.close()
  }
}

async function askChat(page, question) {
  const input = page.getByRole('textbox', { name: ru['chat.inputLabel'] })
  await input.fill(question)
  await input.press('Enter')
}

/** The last assistant message (the greeting is the first one). */
function lastAnswer(page) {
  return page.locator('.message-model').last()
}

async function receivedSince(count) {
  const all = await fake.received()
  return all.slice(count).filter(isGenerateCall)
}

/** Until no answer is streaming any more and the composer offers Send again. */
async function answerFinished(page) {
  await page.waitForFunction(() => document.querySelector('.streaming') === null, null, { timeout: ANSWER_TIMEOUT })
  await page.getByRole('button', { name: ru['chat.send'] }).waitFor({ timeout: ANSWER_TIMEOUT })
}

async function openAnalyzer(page) {
  await page.getByRole('tab', { name: ru['nav.analyze'] }).click()
  await page.getByRole('heading', { name: ru['analyze.title'] }).waitFor()
}

async function analyzePhoto(page, note) {
  await page.locator('input[type="file"]:not([capture])').setInputFiles(photoPath)
  await page.locator('figure.preview figcaption').waitFor({ timeout: ANSWER_TIMEOUT })
  await page.getByLabel(ru['analyze.noteLabel']).fill(note)
  await page.getByRole('button', { name: ru['analyze.submit'], exact: true }).click()
  // The report streams in; it is complete once it is no longer marked as streaming.
  await page.locator('section.result:not(.streaming)').waitFor({ timeout: ANSWER_TIMEOUT })
}

describe('Weld Assistant in Chromium', () => {
  test('chat round trip renders the Markdown answer and sends the question to Gemini', async () => {
    const before = (await fake.received()).length
    await fake.script([streamReply(MARKDOWN_ANSWER)])
    await withPage('/', DESKTOP, async (page, problems) => {
      const question = 'Какой электрод выбрать для 09Г2С? (e2e-1)'
      await askChat(page, question)
      await page.locator('.message-user', { hasText: question }).waitFor()
      const answer = lastAnswer(page)
      await answer.locator('strong', { hasText: 'УОНИ-13/55' }).waitFor({ timeout: ANSWER_TIMEOUT })
      await answerFinished(page)
      assert.equal(await answer.locator('li').count(), 2, 'both list items render as <li>')
      assert.match(await answer.locator('li').first().innerText(), /Прокалите электроды/)
      // Rendered, not shown raw.
      assert.doesNotMatch(await answer.innerText(), /\*\*/)
      const calls = await receivedSince(before)
      assert.equal(calls.length, 1, 'exactly one Gemini call')
      assert.match(calls[0].path, /:streamGenerateContent$/, 'the app asked for a streamed answer')
      assert.match(calls[0].query ?? '', /(^|&)alt=sse(&|$)/)
      assert.ok(requestText(calls[0].body).includes(question), 'the question reached Gemini in contents')
      assert.equal(calls[0].hasKey, true, 'the server sent its key')
      assert.deepEqual(problems, [])
    })
  })

  test('an upstream error that is not retried shows the Russian message, and Retry gets the answer', async () => {
    // 503s are retried by the server (and fail over to the fallback model); a
    // location refusal is not: it reaches the browser as 502 upstream_region.
    await fake.script([
      { status: 400, fixture: 'error_400_location.json' },
      streamReply(['После повтора: используйте ', '**аргон** 99,99 %.']),
    ])
    await withPage('/', DESKTOP, async (page) => {
      await askChat(page, 'Какой газ для TIG? (e2e-2)')
      const alert = page.locator('.error-notice')
      await alert.waitFor({ timeout: ANSWER_TIMEOUT })
      assert.equal((await alert.locator('p').first().innerText()).trim(), ruErrors.upstream_region)
      // Nothing had arrived: there is no partial answer.
      assert.equal(await page.locator('.message-model').count(), 1, 'only the greeting')
      await alert.getByRole('button', { name: ru['common.retry'] }).click()
      await lastAnswer(page).locator('strong', { hasText: 'аргон' }).waitFor({ timeout: ANSWER_TIMEOUT })
      await answerFinished(page)
      assert.equal(await page.locator('.error-notice').count(), 0, 'the error is gone after a successful retry')
      // The question is shown once, not duplicated by the retry.
      assert.equal(await page.locator('.message-user').count(), 1)
    })
  })

  test('a streamed answer grows on screen piece by piece and ends complete', async () => {
    const pieces = ['Первая часть ответа. ', 'Вторая часть. ', 'Третья часть. ', 'Четвёртая — **финал**.']
    const before = (await fake.received()).length
    await fake.script([streamReply(pieces, { chunkDelayMs: 400 })])
    await withPage('/', DESKTOP, async (page, problems) => {
      await askChat(page, 'Расскажите по частям (e2e-stream)')
      const answer = page.locator('.message-model', { hasText: 'Первая часть ответа.' })
      await answer.waitFor({ timeout: ANSWER_TIMEOUT })
      // The first piece is on screen while the last one has not arrived yet.
      const early = await answer.innerText()
      assert.doesNotMatch(early, /Четвёртая/, 'the last piece is not there yet')
      assert.equal(await page.getByRole('button', { name: ru['common.stop'] }).isVisible(), true, 'Stop while streaming')
      assert.equal(await page.locator('.thinking').count(), 0, 'no thinking indicator once text arrives')

      // Watch it grow until it is complete.
      const seen = new Set([early])
      const deadline = Date.now() + ANSWER_TIMEOUT
      while (Date.now() < deadline && (await page.locator('.streaming').count()) > 0) {
        seen.add(await answer.innerText().catch(() => ''))
        await page.waitForTimeout(100)
      }
      await answerFinished(page)
      const final = await answer.innerText()
      for (const piece of ['Первая часть ответа.', 'Вторая часть.', 'Третья часть.', 'Четвёртая — финал.']) {
        assert.ok(final.includes(piece), `the final answer has "${piece}": ${final}`)
      }
      await answer.locator('strong', { hasText: 'финал' }).waitFor()
      assert.doesNotMatch(final, /\*\*/, 'Markdown rendered')
      const lengths = [...seen].filter((text) => text !== '').map((text) => text.length)
      assert.ok(new Set(lengths).size >= 3, `the text grew in steps: ${JSON.stringify([...seen])}`)
      assert.equal(await page.locator('.incomplete-note').count(), 0, 'not marked incomplete')
      const calls = await receivedSince(before)
      assert.equal(calls.length, 1, 'exactly one Gemini call')
      assert.match(calls[0].path, /:streamGenerateContent$/)

      // The finished answer is kept across a reload.
      await page.reload()
      await page.locator('.message-model', { hasText: 'Четвёртая — финал.' }).waitFor()
      assert.deepEqual(problems, [])
    })
  })

  test('Stop ends a slow answer, keeps what arrived, and brings Send back', async () => {
    const pieces = Array.from({ length: 10 }, (_, i) => `Кусок ${i + 1}. `)
    await fake.script([streamReply(pieces, { chunkDelayMs: 600 })])
    await withPage('/', DESKTOP, async (page, problems) => {
      await askChat(page, 'Длинный ответ, пожалуйста (e2e-stop)')
      const answer = page.locator('.message-model', { hasText: 'Кусок 1.' })
      await answer.waitFor({ timeout: ANSWER_TIMEOUT })
      await page.getByRole('button', { name: ru['common.stop'] }).click()

      await page.getByRole('button', { name: ru['chat.send'] }).waitFor({ timeout: 2_000 })
      assert.equal(await page.getByRole('button', { name: ru['common.stop'] }).count(), 0, 'Stop is gone')
      const stopped = await answer.innerText()
      assert.match(stopped, /Кусок 1\./)
      assert.ok(stopped.includes(ru['answer.stopped']), `marked as stopped: ${stopped}`)
      assert.equal(await page.locator('.error-notice').count(), 0, 'stopping is not an error')

      // Nothing more arrives after Stop.
      await page.waitForTimeout(2_000)
      assert.equal(await answer.innerText(), stopped, 'the text did not change after Stop')
      assert.doesNotMatch(stopped, /Кусок 10\./)
      assert.equal(await page.locator('.message-model').count(), 2, 'greeting + the partial answer')

      // The partial answer is kept, marked, across a reload.
      await page.reload()
      await page.locator('.message-model', { hasText: 'Кусок 1.' }).waitFor()
      assert.ok((await page.locator('.message-model').last().innerText()).includes(ru['answer.stopped']))
      assert.deepEqual(problems, [])
    })
  })

  test('analyzer re-encodes a real 3000×2000 JPEG: no EXIF, long side 2048', async () => {
    // The photo given to the browser really carries EXIF with GPS …
    assert.ok(hasExifApp1(photoBytes), 'the test photo has an Exif APP1')
    assert.ok(photoBytes.includes(Buffer.from('E2E-CANARY-CAM')), 'the test photo has the EXIF Make')
    assert.deepEqual(jpegFrameSize(photoBytes), { marker: jpegFrameSize(photoBytes).marker, width: 3000, height: 2000 })

    const before = (await fake.received()).length
    await fake.script([streamReply(REPORT)])
    await withPage('/analyze', DESKTOP, async (page, problems) => {
      const note = 'MAG, сталь 6 мм, нижнее положение (e2e-3)'
      await analyzePhoto(page, note)
      const result = page.locator('section.result')
      await result.getByRole('heading', { name: ru['analyze.resultTitle'] }).waitFor()
      await result.locator('strong', { hasText: 'равномерный' }).waitFor({ timeout: ANSWER_TIMEOUT })
      assert.equal(await result.locator('.markdown li').count(), 2)

      const calls = await receivedSince(before)
      assert.equal(calls.length, 1, 'exactly one Gemini call')
      assert.ok(requestText(calls[0].body).includes(note), 'the note reached Gemini')
      const images = inlineImages(calls[0].body)
      assert.equal(images.length, 1, 'one inline image')
      const sent = Buffer.from(images[0].data, 'base64')
      // … and what reached Google is a clean, downsized JPEG.
      assert.equal(images[0].mimeType, 'image/jpeg')
      assert.deepEqual([...sent.subarray(0, 2)], [0xff, 0xd8], 'JPEG SOI')
      assert.equal(hasExifApp1(sent), false, 'no Exif APP1 segment')
      assert.equal(containsExifHeader(sent), false, 'no "Exif\\0\\0" anywhere')
      assert.equal(sent.includes(Buffer.from('E2E-CANARY-CAM')), false, 'no EXIF Make string')
      const frame = jpegFrameSize(sent)
      assert.ok(frame, 'a SOF segment')
      assert.ok([0xc0, 0xc1, 0xc2].includes(frame.marker), `baseline/progressive SOF, got ${frame.marker.toString(16)}`)
      assert.ok(frame.width <= 2048 && frame.height <= 2048, `fits 2048: ${frame.width}×${frame.height}`)
      assert.equal(Math.max(frame.width, frame.height), 2048, 'long side is 2048')
      assert.equal(frame.width, 2048)
      assert.ok(Math.abs(frame.height - 1365) <= 1, `aspect kept: ${frame.width}×${frame.height}`)
      assert.ok(sent.length < photoBytes.length, 'smaller than the original')
      assert.deepEqual(problems, [])
    })
  })

  test('switching to English changes the UI and survives a reload', async () => {
    await withPage('/', DESKTOP, async (page) => {
      assert.equal(await page.evaluate(() => document.documentElement.lang), 'ru')
      await page.getByRole('tab', { name: ru['nav.chat'] }).waitFor()
      await page.getByRole('button', { name: 'EN', exact: true }).click()
      await page.getByRole('tab', { name: en['nav.chat'] }).waitFor()
      await page.getByRole('tab', { name: en['nav.analyze'] }).waitFor()
      assert.equal(await page.getByRole('tab', { name: ru['nav.chat'] }).count(), 0, 'no Russian tab left')
      assert.equal(await page.evaluate(() => document.documentElement.lang), 'en')
      assert.equal(await page.getByRole('button', { name: 'EN', exact: true }).getAttribute('aria-pressed'), 'true')

      await page.reload()
      await page.getByRole('tab', { name: en['nav.chat'] }).waitFor()
      assert.equal(await page.evaluate(() => document.documentElement.lang), 'en')
      assert.match(await page.title(), /Assistant — Weld Assistant/)

      // Not scripted: the fake answers as the server asks, here in English.
      const before = (await fake.received()).length
      const input = page.getByRole('textbox', { name: en['chat.inputLabel'] })
      await input.fill('Which electrode for a 6 mm wall? (e2e-en)')
      await input.press('Enter')
      await lastAnswer(page).getByText('For a 6 mm wall', { exact: false }).waitFor({ timeout: ANSWER_TIMEOUT })
      await page.waitForFunction(() => document.querySelector('.streaming') === null, null, { timeout: ANSWER_TIMEOUT })
      const calls = await receivedSince(before)
      assert.equal(calls.length, 1)
      assert.match(calls[0].body.systemInstruction.parts[0].text, /Answer in English/)
    })
  })

  test('a reload keeps the conversation', async () => {
    await fake.script([streamReply('Поры появляются из-за **влаги** и плохой газовой защиты.')])
    await withPage('/', DESKTOP, async (page) => {
      const question = 'Почему в шве поры? (e2e-5)'
      await askChat(page, question)
      await lastAnswer(page).locator('strong', { hasText: 'влаги' }).waitFor({ timeout: ANSWER_TIMEOUT })
      await answerFinished(page)
      await page.reload()
      await page.locator('.message-user', { hasText: question }).waitFor()
      await lastAnswer(page).locator('strong', { hasText: 'влаги' }).waitFor()
      assert.equal(await page.locator('.message-user').count(), 1)
      assert.equal(await page.locator('.message-model').count(), 2, 'greeting + the kept answer')
    })
  })

  test('a deep link to /analyze opens the analyzer', async () => {
    await withPage('/analyze', DESKTOP, async (page, problems) => {
      await page.getByRole('heading', { name: ru['analyze.title'] }).waitFor()
      const tab = page.getByRole('tab', { name: ru['nav.analyze'] })
      assert.equal(await tab.getAttribute('aria-selected'), 'true')
      assert.equal(await page.getByRole('tab', { name: ru['nav.chat'] }).getAttribute('aria-selected'), 'false')
      assert.equal(await page.locator('#panel-analyze').isVisible(), true)
      assert.equal(await page.locator('#panel-chat').isVisible(), false)
      await page.getByRole('button', { name: ru['analyze.choose'] }).waitFor()
      assert.equal(new URL(page.url()).pathname, '/analyze')
      assert.deepEqual(problems, [])
    })
  })

  test('the page talks only to its own origin, with no console errors or CSP violations', async () => {
    await fake.script([streamReply(MARKDOWN_ANSWER), streamReply(REPORT)])
    const context = await stack.browser.newContext({ viewport: DESKTOP, locale: 'ru-RU' })
    const requests = []
    const problems = []
    context.on('request', (request) => requests.push(request.url()))
    try {
      const page = await context.newPage()
      page.on('console', (message) => {
        if (message.type() === 'error' || message.type() === 'warning') {
          problems.push(`console ${message.type()}: ${message.text()}`)
        }
      })
      page.on('pageerror', (error) => problems.push(`pageerror: ${error.message}`))
      await page.goto(stack.baseUrl + '/')
      await askChat(page, 'Какой электрод для 09Г2С? (e2e-7)')
      await lastAnswer(page).locator('strong', { hasText: 'УОНИ-13/55' }).waitFor({ timeout: ANSWER_TIMEOUT })
      await answerFinished(page)
      await openAnalyzer(page)
      await analyzePhoto(page, 'e2e-7')
      await page.locator('figure.preview img').waitFor()
      await page.getByRole('tab', { name: ru['nav.chat'] }).click()
      await page.waitForLoadState('networkidle')

      const origin = new URL(stack.baseUrl).origin
      assert.ok(requests.some((url) => url.endsWith('/api/chat/stream')), 'the streamed chat call was seen')
      assert.ok(requests.some((url) => url.endsWith('/api/analyze/stream')), 'the streamed analyze call was seen')
      const foreign = requests.filter((url) => {
        if (url.startsWith('data:') || url.startsWith('blob:')) return false
        return new URL(url).origin !== origin
      })
      assert.deepEqual(foreign, [], 'every request goes to the server itself')
      assert.equal(requests.some((url) => url.includes(CANARY_KEY)), false)
      const html = await page.content()
      assert.equal(html.includes(CANARY_KEY), false, 'the key is not in the page')
      assert.deepEqual(problems, [])
    } finally {
      await context.close()
    }
  })

  test('screenshots of chat and analyzer at 360 px and 1280 px', async () => {
    mkdirSync(ARTIFACTS, { recursive: true })
    if (SCREENSHOTS) mkdirSync(SCREENSHOTS, { recursive: true })
    for (const [name, viewport] of [
      ['mobile', MOBILE],
      ['desktop', DESKTOP],
    ]) {
      await fake.script([streamReply(MARKDOWN_ANSWER), streamReply(REPORT)])
      await withPage('/', viewport, async (page, problems) => {
        await askChat(page, 'Какой электрод выбрать для стали 09Г2С?')
        await lastAnswer(page).locator('li').last().waitFor({ timeout: ANSWER_TIMEOUT })
        await answerFinished(page)
        await assertNoHorizontalOverflow(page, `chat ${name}`)
        await shoot(page, `chat-${name}`)

        await openAnalyzer(page)
        await analyzePhoto(page, 'MAG, сталь 6 мм')
        await page.locator('section.result li').last().waitFor()
        await page.locator('figure.preview img').waitFor()
        await page.waitForFunction(() => {
          const img = document.querySelector('figure.preview img')
          return img instanceof HTMLImageElement && img.complete && img.naturalWidth > 0
        })
        await assertNoHorizontalOverflow(page, `analyzer ${name}`)
        await page.locator('section.result').scrollIntoViewIfNeeded()
        await shoot(page, `analyze-${name}`)
        assert.deepEqual(problems, [])
      })
    }
  })
})

/** Nothing wider than the viewport: no sideways scrolling, no element sticking out. */
async function assertNoHorizontalOverflow(page, where) {
  const report = await page.evaluate(() => {
    const width = document.documentElement.clientWidth
    const offenders = []
    for (const element of document.querySelectorAll('body *')) {
      const rect = element.getBoundingClientRect()
      if (rect.width === 0 || rect.height === 0) continue
      if (element.closest('.visually-hidden')) continue
      if (rect.right > width + 1 || rect.left < -1) {
        offenders.push(`${element.tagName.toLowerCase()}.${element.className} [${Math.round(rect.left)}, ${Math.round(rect.right)}]`)
      }
    }
    return { width, scrollWidth: document.documentElement.scrollWidth, offenders: offenders.slice(0, 10) }
  })
  assert.ok(report.scrollWidth <= report.width, `${where}: page scrolls sideways (${report.scrollWidth} > ${report.width})`)
  assert.deepEqual(report.offenders, [], `${where}: elements outside the viewport`)
}

async function shoot(page, name) {
  const viewportShot = await page.screenshot({ path: join(ARTIFACTS, `${name}.png`) })
  if (SCREENSHOTS) writeFileSync(join(SCREENSHOTS, `${name}.png`), viewportShot)
  assert.ok(readFileSync(join(ARTIFACTS, `${name}.png`)).length > 1000)
}
