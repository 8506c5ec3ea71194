// End-to-end test of the waiting line in front of Gemini's quota, in real
// headless Chromium: the server allows the model one call a minute
// (`WELD_GEMINI_RPM=1`, no fallback models), so after one answered question the
// next one waits in the server's line. The app shows its place ("В очереди:
// 1-й, около N с") where the thinking indicator is, Stop takes it out of the line
// (the fetch is aborted), and the fake Gemini never sees the waiting questions.
// Run alone with `node --test e2e/quota.e2e.mjs` (WELD_BIN / FAKE_BIN as for the
// other specs).
/* global document */
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { ru } from './support/messages.mjs'
import { ARTIFACTS, REPO_ROOT, fakeControl, isGenerateCall, startStack, streamReply } from './support/harness.mjs'

const DESKTOP = { width: 1280, height: 800 }
/** Bound on an answer that is not held in the line, and on the first waiting event. */
const ANSWER_TIMEOUT = 15_000
/** Bound on one whole test: it never waits for the minute to pass. */
const TEST_TIMEOUT = 60_000
/** A real JPEG of a weld (480×320) from the repository. */
const PHOTO = join(REPO_ROOT, 'examples/weld.jpg')
/** "В очереди: 1-й, около 55 с" (or "около 1 мин" right after the first call, or "вот-вот"). */
const WAITING_FIRST = /^В очереди: 1-й, (около \d+ (с|мин)|вот-вот)$/
/** Where the place in the line shows: the visible line of the thinking indicator. */
const WAITING = '.thinking-region .thinking'

let stack
let fake

before(async () => {
  stack = await startStack({
    serverEnv: {
      // One call a minute on the main model and no fallback model to go to
      // (an empty list is written as an empty value).
      WELD_GEMINI_RPM: '1',
      WELD_GEMINI_FALLBACK_MODELS: '',
      // The start-up probe must not take the minute's one call.
      WELD_STARTUP_PROBE: 'off',
    },
  })
  fake = fakeControl(stack.fakeUrl)
})

after(async () => {
  await stack?.stop()
})

/** A fresh Russian page; console errors and page errors are collected. */
async function withPage(path, body) {
  const context = await stack.browser.newContext({ viewport: DESKTOP, locale: 'ru-RU' })
  const page = await context.newPage()
  const problems = []
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console: ${message.text()}`)
  })
  page.on('pageerror', (error) => problems.push(`pageerror: ${error.message}`))
  try {
    await page.goto(stack.baseUrl + path)
    await page.locator('.app').waitFor({ timeout: ANSWER_TIMEOUT })
    await body(page, problems)
  } finally {
    await context.close()
  }
}

async function generateCalls() {
  return (await fake.received()).filter(isGenerateCall)
}

/** The last lines of the server's log, for a failure message. */
function serverLogTail(lines = 15) {
  return stack.serverLog().trimEnd().split('\n').slice(-lines).join('\n')
}

/**
 * Waits (bounded) until the thinking indicator shows `pattern`, and returns its
 * text; on timeout fails saying what the page showed instead.
 */
async function waitingText(page, pattern, what) {
  try {
    await page.waitForFunction(
      ([selector, source]) => {
        const element = document.querySelector(selector)
        return element !== null && new RegExp(source).test(element.textContent.trim())
      },
      [WAITING, pattern.source],
      { timeout: ANSWER_TIMEOUT },
    )
  } catch (error) {
    const shown = await page
      .evaluate(
        ([selector]) => ({
          indicator: document.querySelector(selector)?.textContent.trim() ?? '(no indicator)',
          answers: [...document.querySelectorAll('.message-model, section.result')].map((e) => e.textContent.trim()),
          errors: [...document.querySelectorAll('.error-notice')].map((e) => e.textContent.trim()),
        }),
        [WAITING],
      )
      .catch(() => ({}))
    assert.fail(
      `${what}: the page did not show the place in the line (${pattern}) within ${ANSWER_TIMEOUT} ms ` +
        `(${error.message.split('\n')[0]}).\nThe page showed: ${JSON.stringify(shown, null, 2)}\n` +
        `Gemini calls so far: ${(await generateCalls()).length}\nServer log:\n${serverLogTail()}`,
    )
  }
  return (await page.locator(WAITING).innerText()).trim()
}

/** The text the live region announces while waiting (its visible line is hidden from screen readers). */
async function announced(page) {
  return (await page.getByRole('status').locator('.visually-hidden').first().textContent())?.trim() ?? ''
}

describe('the waiting line in front of Gemini\'s quota', { timeout: 2 * TEST_TIMEOUT }, () => {
  test('a chat question over the quota shows its place in the line, and Stop takes it out', { timeout: TEST_TIMEOUT }, async () => {
    await withPage('/', async (page, problems) => {
      const input = page.getByRole('textbox', { name: ru['chat.inputLabel'] })

      // The minute's one call: answered at once.
      await fake.script([streamReply('Для 09Г2С берите **УОНИ-13/55**.')])
      await input.fill('Какой электрод для 09Г2С? (e2e-quota-1)')
      await input.press('Enter')
      await page.locator('.message-model strong', { hasText: 'УОНИ-13/55' }).waitFor({ timeout: ANSWER_TIMEOUT })
      await page.getByRole('button', { name: ru['chat.send'] }).waitFor({ timeout: ANSWER_TIMEOUT })
      assert.equal((await generateCalls()).length, 1, 'the first question reached Gemini')

      // The second waits in the line: the server answers 200 at once with `event: waiting`.
      await fake.script([streamReply('Этот ответ не должен был понадобиться.')])
      await input.fill('А для нержавейки? (e2e-quota-2)')
      await input.press('Enter')
      const shown = await waitingText(page, WAITING_FIRST, 'the second chat question')
      assert.match(shown, WAITING_FIRST)
      assert.match(await announced(page), /^В очереди: 1-й/, 'the live region announces the place')
      assert.equal(await page.getByText(ru['chat.thinking']).count(), 0, 'the place replaces "thinking"')
      const stop = page.getByRole('button', { name: ru['common.stop'] })
      assert.equal(await stop.isVisible(), true, 'Stop is offered while waiting')
      await page.screenshot({ path: join(ARTIFACTS, 'quota-chat-waiting.png') })

      await stop.click()
      await page.locator(WAITING).waitFor({ state: 'detached', timeout: 5_000 })
      await page.getByRole('button', { name: ru['chat.send'] }).waitFor({ timeout: 5_000 })
      assert.equal(await page.getByText(/В очереди/).count(), 0, 'the waiting text is gone')
      assert.equal(await page.locator('.error-notice').count(), 0, 'stopping is not an error')
      assert.equal(await page.locator('.message-model').count(), 2, 'greeting + the first answer, no partial one')
      // The composer is usable again.
      await input.fill('Третий вопрос')
      assert.equal(await page.getByRole('button', { name: ru['chat.send'] }).isEnabled(), true, 'Send works again')
      await input.fill('')

      // Nothing was sent on for the stopped question.
      await page.waitForTimeout(1_000)
      const calls = await generateCalls()
      assert.equal(calls.length, 1, `only the first question reached Gemini: ${JSON.stringify(calls.map((c) => c.path))}`)
      assert.deepEqual(problems, [])
    })
  })

  test('an analysis over the quota shows its place in the line, and Stop takes it out', { timeout: TEST_TIMEOUT }, async () => {
    // Still within the minute of the chat's one call (the stopped question left the line).
    await withPage('/analyze', async (page, problems) => {
      await page.getByRole('heading', { name: ru['analyze.title'] }).waitFor({ timeout: ANSWER_TIMEOUT })
      await page.locator('input[type="file"]:not([capture])').setInputFiles(PHOTO)
      await page.locator('figure.preview figcaption').waitFor({ timeout: ANSWER_TIMEOUT })
      await page.getByRole('button', { name: ru['analyze.submit'], exact: true }).click()

      const shown = await waitingText(page, WAITING_FIRST, 'the analysis')
      assert.match(shown, WAITING_FIRST)
      assert.match(await announced(page), /^В очереди: 1-й/, 'the live region announces the place')
      assert.equal(await page.getByText(ru['analyze.thinking']).count(), 0, 'the place replaces "thinking"')
      await page.screenshot({ path: join(ARTIFACTS, 'quota-analysis-waiting.png') })

      await page.getByRole('button', { name: ru['common.stop'] }).click()
      await page.locator(WAITING).waitFor({ state: 'detached', timeout: 5_000 })
      const submit = page.getByRole('button', { name: ru['analyze.submit'], exact: true })
      await submit.waitFor({ timeout: 5_000 })
      assert.equal(await submit.isEnabled(), true, 'the photo can be sent again')
      assert.equal(await page.getByText(/В очереди/).count(), 0, 'the waiting text is gone')
      assert.equal(await page.locator('.error-notice').count(), 0, 'stopping is not an error')
      assert.equal(await page.locator('section.result').count(), 0, 'no report')

      await page.waitForTimeout(1_000)
      const calls = await generateCalls()
      assert.equal(calls.length, 1, `still only the chat's first question reached Gemini: ${JSON.stringify(calls.map((c) => c.path))}`)
      assert.deepEqual(problems, [])
    })
  })
})
