// End-to-end tests of several photos per analysis and of the reports people
// keep: download (.md), copy (clipboard), print view, the saved analyses, and
// "ask about this analysis" (the fake Gemini's next request carries the report).
// Run with `npm run e2e` (see app.e2e.mjs for the binaries).
/* global document, HTMLImageElement */
import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { ru } from './support/messages.mjs'
import {
  ARTIFACTS,
  REPO_ROOT,
  fakeControl,
  inlineImages,
  isGenerateCall,
  requestText,
  startStack,
  streamReply,
} from './support/harness.mjs'
import { containsExifHeader, exifGpsSegment, hasExifApp1, jpegFrameSize, spliceAfterSoi } from './support/jpeg.mjs'

const SCREENSHOTS = process.env.E2E_DOCS_SCREENSHOTS ? join(REPO_ROOT, 'docs/screenshots') : null
const MOBILE = { width: 360, height: 740 }
const DESKTOP = { width: 1280, height: 800 }
const ANSWER_TIMEOUT = 15_000

const REPORT = [
  '## Что на фото',
  '',
  'Стыковой шов, MAG, нижнее положение. Фото резкое.',
  '',
  '## Найденные дефекты',
  '',
  '- **Поры** (2011) у начала шва, 3–4 шт. до 1 мм.',
  '- Подрез (5011) у верхней кромки, около 0,5 мм.',
  '',
  '## Как исправить',
  '',
  '- Проверьте расход газа: 12–15 л/мин, без сквозняка.',
  '- Зачистите кромки до металлического блеска.',
  '',
  '## Вердикт',
  '',
  '**Требует доработки:** поры и подрез превышают допуск уровня B по ISO 5817.',
].join('\n')

let stack
let fake
/** Three "photos" of one weld: face, root, side (3000×2000, 1200×1600, 800×600), each with EXIF/GPS. */
let photoPaths = []

before(async () => {
  stack = await startStack()
  fake = fakeControl(stack.fakeUrl)
  const dir = mkdtempSync(join(tmpdir(), 'weld-e2e-reports-'))
  const shapes = [
    ['face.jpg', 3000, 2000, '#b45309'],
    ['root.jpg', 1200, 1600, '#9a3412'],
    ['side.jpg', 800, 600, '#a16207'],
  ]
  for (const [name, width, height, color] of shapes) {
    const path = join(dir, name)
    writeFileSync(path, await makePhoto(stack.browser, width, height, color))
    photoPaths.push(path)
  }
})

after(async () => {
  await stack?.stop()
})

async function makePhoto(browser, width, height, color) {
  const context = await browser.newContext()
  try {
    const page = await context.newPage()
    const dataUrl = await page.evaluate(
      ([w, h, bead]) => {
        const canvas = document.createElement('canvas')
        canvas.width = w
        canvas.height = h
        const ctx = canvas.getContext('2d')
        const plate = ctx.createLinearGradient(0, 0, w, h)
        plate.addColorStop(0, '#6b7280')
        plate.addColorStop(1, '#374151')
        ctx.fillStyle = plate
        ctx.fillRect(0, 0, w, h)
        const r = Math.min(w, h) / 12
        for (let x = r; x < w - r; x += r / 3) {
          const g = ctx.createRadialGradient(x, h / 2, 2, x, h / 2, r * 1.4)
          g.addColorStop(0, '#fde68a')
          g.addColorStop(0.5, bead)
          g.addColorStop(1, 'rgba(55,65,81,0)')
          ctx.fillStyle = g
          ctx.beginPath()
          ctx.ellipse(x, h / 2, r, r * 1.8, 0, 0, Math.PI * 2)
          ctx.fill()
        }
        return canvas.toDataURL('image/jpeg', 0.9)
      },
      [width, height, color],
    )
    const jpeg = Buffer.from(dataUrl.slice(dataUrl.indexOf(',') + 1), 'base64')
    return spliceAfterSoi(jpeg, exifGpsSegment())
  } finally {
    await context.close()
  }
}

async function withPage(path, viewport, body, contextOptions = {}) {
  // Dark, the app's own look (a11y.e2e.mjs covers the light theme).
  const context = await stack.browser.newContext({ viewport, locale: 'ru-RU', colorScheme: 'dark', ...contextOptions })
  const page = await context.newPage()
  const problems = []
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console: ${message.text()}`)
  })
  page.on('pageerror', (error) => problems.push(`pageerror: ${error.message}`))
  try {
    await page.goto(stack.baseUrl + path)
    await page.locator('.app').waitFor()
    await body(page, problems, context)
  } finally {
    await context.close()
  }
}

async function receivedSince(count) {
  const all = await fake.received()
  return all.slice(count).filter(isGenerateCall)
}

async function addPhotos(page, paths) {
  await page.locator('input[type="file"][multiple]').setInputFiles(paths)
  await page.locator('.photo-tile').nth(paths.length - 1).waitFor({ timeout: ANSWER_TIMEOUT })
  await page.waitForFunction(
    (count) =>
      [...document.querySelectorAll('.photo-tile img')].filter(
        (img) => img instanceof HTMLImageElement && img.complete && img.naturalWidth > 0,
      ).length === count,
    paths.length,
  )
}

/** Analyzes one photo and waits for the finished report with its actions. */
async function analyzeOne(page, note) {
  await addPhotos(page, [photoPaths[0]])
  await page.getByLabel(ru['analyze.noteLabel']).fill(note)
  await page.getByRole('button', { name: ru['analyze.submit'], exact: true }).click()
  await page.getByRole('group', { name: ru['report.actionsLabel'] }).waitFor({ timeout: ANSWER_TIMEOUT })
}

async function shoot(page, name, fullPage = false) {
  mkdirSync(ARTIFACTS, { recursive: true })
  const shot = await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage })
  if (SCREENSHOTS) {
    mkdirSync(SCREENSHOTS, { recursive: true })
    writeFileSync(join(SCREENSHOTS, `${name}.png`), shot)
  }
  assert.ok(shot.length > 1000)
}

describe('Several photos and the reports people keep', () => {
  test('three photos of one weld go to Gemini in one request, each re-encoded', async (t) => {
    // Not scripted: a server that refuses the photos must leave no reply queued for
    // the next test; the fake's default streamed answer does here.
    const before = (await fake.received()).length
    await withPage('/analyze', DESKTOP, async (page, problems) => {
      await addPhotos(page, photoPaths)
      assert.equal(await page.locator('.photo-tile').count(), 3)
      await page.getByLabel(ru['analyze.noteLabel']).fill('лицо, корень, сбоку (e2e-multi)')
      await page.getByRole('button', { name: ru['analyze.submit'], exact: true }).click()
      const outcome = await Promise.race([
        page.locator('section.result:not(.streaming)').waitFor({ timeout: ANSWER_TIMEOUT }).then(() => 'report'),
        page.getByRole('alert').waitFor({ timeout: ANSWER_TIMEOUT }).then(() => 'error'),
      ])
      const calls = await receivedSince(before)
      const images = calls.length === 1 ? inlineImages(calls[0].body) : []
      if (outcome === 'error' || images.length !== 3) {
        // A server without several-photo support (before issue 13's API part) refuses
        // or keeps one photo: nothing to check yet.
        t.skip(`pending: the server took ${images.length} of 3 photos (${outcome}); needs the multi-photo API`)
        return
      }
      assert.ok(requestText(calls[0].body).includes('e2e-multi'), 'the note reached Gemini')
      const sizes = images.map((image) => {
        assert.equal(image.mimeType, 'image/jpeg')
        const bytes = Buffer.from(image.data, 'base64')
        assert.equal(hasExifApp1(bytes), false, 'no Exif APP1')
        assert.equal(containsExifHeader(bytes), false, 'no Exif header anywhere')
        const frame = jpegFrameSize(bytes)
        assert.ok(frame.width <= 2048 && frame.height <= 2048, `fits 2048: ${frame.width}×${frame.height}`)
        return [frame.width, frame.height]
      })
      // In order: face (3000×2000 → 2048×1365), root (1200×1600), side (800×600).
      assert.equal(sizes[0][0], 2048)
      assert.deepEqual(sizes.slice(1), [
        [1200, 1600],
        [800, 600],
      ])
      // The fake's unscripted answer to photos asked for in Russian: its Russian
      // report, rendered as one report with its verdict.
      const result = page.locator('section.result')
      await result.getByRole('heading', { name: 'Найденные дефекты' }).waitFor()
      await result.getByRole('heading', { name: 'Вердикт' }).waitFor()
      assert.match(await result.innerText(), /Подрез \(5011\)/)
      // Its verdict line is found: the saved analysis is marked "needs rework".
      const saved = page.getByRole('region', { name: ru['saved.title'] })
      await saved.waitFor()
      assert.ok((await saved.getByRole('listitem').first().textContent()).includes(ru['verdict.rework']))
      assert.deepEqual(problems, [])
    })
  })

  test('download gives a .md with the report; copy puts it on the clipboard; it is kept after a reload', async () => {
    await fake.script([streamReply(REPORT)])
    await withPage(
      '/analyze',
      DESKTOP,
      async (page, problems) => {
        await analyzeOne(page, 'MAG 6 мм (e2e-keep)')
        const actions = page.getByRole('group', { name: ru['report.actionsLabel'] })

        const [download] = await Promise.all([
          page.waitForEvent('download'),
          actions.getByRole('button', { name: ru['report.download'] }).click(),
        ])
        assert.match(download.suggestedFilename(), /^weld-analysis-\d{4}-\d{2}-\d{2}-rework\.md$/)
        const saved = readFileSync(await download.path(), 'utf8')
        assert.ok(saved.startsWith(`# ${ru['report.title']}\n`), saved.slice(0, 80))
        assert.ok(saved.includes(REPORT), 'the whole report is in the file')
        assert.ok(saved.includes('MAG 6 мм (e2e-keep)'), 'the note is in the file')

        await actions.getByRole('button', { name: ru['report.copy'] }).click()
        await actions.getByRole('button', { name: ru['report.copied'] }).waitFor()
        const clipboard = await page.evaluate(() => navigator.clipboard.readText())
        assert.equal(clipboard, saved, 'copy and download give the same Markdown')

        await page.reload()
        const list = page.getByRole('region', { name: ru['saved.title'] })
        await list.waitFor()
        const item = list.getByRole('listitem').first()
        assert.ok((await item.textContent()).includes('e2e-keep'))
        await item.getByRole('button', { name: /^Открыть анализ/ }).click()
        await page.getByRole('region', { name: /^Анализ от / }).getByRole('heading', { name: 'Вердикт' }).waitFor()
        assert.deepEqual(problems, [])
      },
      { permissions: ['clipboard-read', 'clipboard-write'] },
    )
  })

  test('"ask about this analysis": the next question reaches Gemini with the report in its history', async () => {
    await fake.script([streamReply(REPORT), streamReply('Увеличьте расход газа до 14 л/мин.')])
    await withPage('/analyze', MOBILE, async (page, problems) => {
      await analyzeOne(page, 'TIG (e2e-ask)')
      await page.getByRole('button', { name: ru['report.ask'] }).click()
      await page.waitForURL((url) => url.pathname === '/chat')
      const card = page.locator('.analysis-card')
      await card.waitFor()
      assert.ok((await card.textContent()).includes(ru['verdict.rework']))

      const before = (await fake.received()).length
      const question = 'Как убрать эту пористость?'
      const input = page.getByRole('textbox', { name: ru['chat.inputLabel'] })
      await input.fill(question)
      await input.press('Enter')
      await page.locator('.message-model').last().getByText('14 л/мин').waitFor({ timeout: ANSWER_TIMEOUT })

      const calls = await receivedSince(before)
      assert.equal(calls.length, 1)
      const contents = calls[0].body.contents
      const text = (content) => content.parts.map((part) => part.text ?? '').join('')
      assert.equal(contents[0].role, 'user')
      assert.ok(text(contents[0]).includes(ru['chat.contextIntro']), 'the analysis comes first')
      assert.ok(text(contents[0]).includes('поры и подрез превышают допуск'), 'with the report')
      assert.equal(contents.at(-1).role, 'user')
      assert.equal(text(contents.at(-1)), question, 'the question comes last')

      // The context survives a reload.
      await page.reload()
      await page.locator('.analysis-card').waitFor()
      await page.locator('.message-model').last().getByText('14 л/мин').waitFor()
      assert.deepEqual(problems, [])
    })
  })

  test('screenshots: photos, saved analyses, the chat about an analysis, the print view', async () => {
    for (const [name, viewport] of [
      ['mobile', MOBILE],
      ['desktop', DESKTOP],
    ]) {
      await fake.script([streamReply(REPORT), streamReply('Увеличьте расход газа до **14 л/мин** и зачистите кромки.')])
      await withPage('/analyze', viewport, async (page, problems) => {
        await addPhotos(page, photoPaths)
        await page.getByLabel(ru['analyze.noteLabel']).fill('MAG, сталь 6 мм, нижнее положение')
        await page.evaluate(() => document.querySelector('.photos')?.scrollIntoView({ block: 'start' }))
        await shoot(page, `analyze-photos-${name}`)

        await page.getByRole('button', { name: ru['analyze.submit'], exact: true }).click()
        const actions = page.getByRole('group', { name: ru['report.actionsLabel'] })
        const outcome = await Promise.race([
          actions.waitFor({ timeout: ANSWER_TIMEOUT }).then(() => 'report'),
          page.getByRole('alert').waitFor({ timeout: ANSWER_TIMEOUT }).then(() => 'error'),
        ])
        if (outcome === 'error') {
          // A server without several-photo support: the rest of the story with one photo
          // (its 400 is the refusal expected here, not a problem of the page).
          problems.splice(0, problems.length, ...problems.filter((p) => !p.includes('status of 400')))
          await page.getByRole('button', { name: 'Убрать фото 3' }).click()
          await page.getByRole('button', { name: 'Убрать фото 2' }).click()
          await page.getByRole('button', { name: ru['analyze.submit'], exact: true }).click()
          await actions.waitFor({ timeout: ANSWER_TIMEOUT })
        }
        await page.locator('section.result li').last().waitFor()

        await page.emulateMedia({ media: 'print' })
        await page.waitForFunction(() =>
          [...document.querySelectorAll('.result-photos img')].every(
            (img) => img instanceof HTMLImageElement && img.complete && img.naturalWidth > 0,
          ),
        )
        await shoot(page, `print-${name}`, true)
        if (name === 'desktop') {
          const pdf = await page.pdf({ format: 'A4', printBackground: true })
          const pages = (pdf.toString('latin1').match(/\/Type\s*\/Page[^s]/g) ?? []).length
          assert.equal(pages, 1, 'the analysis prints on one A4 page')
        }
        await page.emulateMedia({ media: 'screen' })

        await page.getByRole('button', { name: ru['analyze.another'] }).click()
        await page.evaluate(() => document.querySelector('.saved-analyses')?.scrollIntoView({ block: 'start' }))
        await shoot(page, `saved-analyses-${name}`)

        await page.getByRole('region', { name: ru['saved.title'] }).getByRole('listitem').first()
          .getByRole('button', { name: /^Открыть анализ/ }).click()
        await page.getByRole('button', { name: ru['report.ask'] }).click()
        await page.locator('.analysis-card').waitFor()
        const input = page.getByRole('textbox', { name: ru['chat.inputLabel'] })
        await input.fill('Как убрать эту пористость?')
        await input.press('Enter')
        await page.locator('.message-model').last().locator('strong', { hasText: '14 л/мин' }).waitFor({ timeout: ANSWER_TIMEOUT })
        await page.waitForFunction(() => document.querySelector('.streaming') === null)
        await shoot(page, `chat-analysis-${name}`)
        assert.deepEqual(problems, [])
      })
    }
  })
})
