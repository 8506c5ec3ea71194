// End-to-end tests of a server that wants an access code (WELD_ACCESS_CODE), in
// real headless Chromium: the code screen, a wrong and the right code, a chat
// round trip on the session the code started, a reload, and signing out.
// Its own stack (fake Gemini + server + browser), so app.e2e.mjs keeps a server
// without a code.
/* global document */
import assert from 'node:assert/strict'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { ARTIFACTS, REPO_ROOT, fakeControl, isGenerateCall, requestText, startStack, streamReply } from './support/harness.mjs'
import { en, ru } from './support/messages.mjs'

const ACCESS_CODE = 'e2e-svarka-4711'
const SCREENSHOTS = process.env.E2E_DOCS_SCREENSHOTS ? join(REPO_ROOT, 'docs/screenshots') : null
const MOBILE = { width: 360, height: 740 }
const DESKTOP = { width: 1280, height: 800 }
const ANSWER_TIMEOUT = 15_000

let stack
let fake

before(async () => {
  stack = await startStack({ serverEnv: { WELD_ACCESS_CODE: ACCESS_CODE } })
  fake = fakeControl(stack.fakeUrl)
})

after(async () => {
  await stack?.stop()
})

/** A fresh context (no cookies) and page; console and page errors are collected. */
async function withPage(viewport, body) {
  // Dark, the app's own look (a11y.e2e.mjs covers the light theme).
  const context = await stack.browser.newContext({ viewport, locale: 'ru-RU', colorScheme: 'dark' })
  const page = await context.newPage()
  const problems = []
  page.on('console', (message) => {
    // The wrong code is answered 401 on purpose; Chromium logs every failed fetch.
    if (message.type() === 'error' && !/status of 401/.test(message.text())) {
      problems.push(`console: ${message.text()}`)
    }
  })
  page.on('pageerror', (error) => problems.push(`pageerror: ${error.message}`))
  try {
    await page.goto(stack.baseUrl + '/')
    await page.locator('.app').waitFor()
    await body(page, problems, context)
  } finally {
    await context.close()
  }
}

const codeInput = (page, dictionary = ru) => page.getByLabel(dictionary['access.label'], { exact: true })
const chatInput = (page) => page.getByRole('textbox', { name: ru['chat.inputLabel'] })

async function enterCode(page, code) {
  const input = codeInput(page)
  await input.fill(code)
  await input.press('Enter')
}

describe('a server with an access code', () => {
  test('/ shows the code form (360 px); a wrong code says so in place; the right one opens the app', async () => {
    await withPage(MOBILE, async (page, problems) => {
      const input = codeInput(page)
      await input.waitFor()
      assert.equal(await input.getAttribute('type'), 'password')
      assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('type')), 'password', 'focus on the field')
      await page.getByRole('heading', { name: ru['access.title'] }).waitFor()
      assert.equal(await page.getByRole('tab').count(), 0, 'no tabs before the code')
      assert.equal(await chatInput(page).count(), 0, 'no chat before the code')
      await assertNoHorizontalOverflow(page, 'code form mobile')
      await shoot(page, 'access-code-mobile')

      await enterCode(page, 'not-the-code')
      const error = page.locator('.access-error')
      await error.filter({ hasText: ru['access.invalid'] }).waitFor({ timeout: ANSWER_TIMEOUT })
      assert.equal(await error.getAttribute('aria-live'), 'assertive')
      assert.equal(await input.getAttribute('aria-invalid'), 'true')
      assert.equal(await page.getByRole('tab').count(), 0, 'still no tabs after a wrong code')
      await assertNoHorizontalOverflow(page, 'code form mobile with error')
      await shoot(page, 'access-code-error-mobile')

      // After the right code the header also holds "Выйти": it must still fit 360 px.
      await enterCode(page, ACCESS_CODE)
      await chatInput(page).waitFor({ timeout: ANSWER_TIMEOUT })
      await page.getByRole('button', { name: ru['access.signOut'] }).waitFor()
      await assertNoHorizontalOverflow(page, 'chat with sign-out mobile')
      await shoot(page, 'access-signed-in-mobile')
      assert.deepEqual(problems, [])
    })
  })

  test('the right code shows the chat; a round trip works; reload keeps the session; sign out asks again', async () => {
    const MARKDOWN = 'Для TIG по нержавейке берите **аргон** 99,99 %.'
    await fake.script([streamReply(MARKDOWN)])
    const before = (await fake.received()).length
    await withPage(DESKTOP, async (page, problems, context) => {
      await enterCode(page, ACCESS_CODE)
      await chatInput(page).waitFor({ timeout: ANSWER_TIMEOUT })
      assert.equal(await codeInput(page).count(), 0, 'the form is gone')

      // The session cookie is HttpOnly: the page cannot read it, the browser keeps it.
      assert.equal(await page.evaluate(() => document.cookie.includes('weld_session')), false)
      const cookie = (await context.cookies()).find((c) => c.name === 'weld_session')
      assert.ok(cookie, 'the browser holds weld_session')
      assert.equal(cookie.httpOnly, true)
      assert.equal(cookie.sameSite, 'Strict')

      const question = 'Какой газ для TIG по нержавейке? (e2e-code)'
      await chatInput(page).fill(question)
      await chatInput(page).press('Enter')
      await page.locator('.message-model').last().locator('strong', { hasText: 'аргон' }).waitFor({ timeout: ANSWER_TIMEOUT })
      const calls = (await fake.received())
        .slice(before)
        .filter(isGenerateCall)
      assert.equal(calls.length, 1, 'exactly one Gemini call')
      assert.ok(requestText(calls[0].body).includes(question))

      await page.reload()
      await chatInput(page).waitFor()
      await page.locator('.message-user', { hasText: question }).waitFor()
      assert.equal(await codeInput(page).count(), 0, 'no form after a reload')
      const signOut = page.getByRole('button', { name: ru['access.signOut'] })
      await signOut.waitFor()

      await signOut.click()
      await codeInput(page).waitFor()
      assert.equal(await page.getByRole('tab').count(), 0)
      assert.equal((await context.cookies()).some((c) => c.name === 'weld_session' && c.value !== ''), false, 'cookie cleared')
      await page.reload()
      await codeInput(page).waitFor()

      // The form speaks English too.
      await page.getByRole('button', { name: 'EN', exact: true }).click()
      await codeInput(page, en).waitFor()
      await page.getByText(en['access.intro']).waitFor()
      assert.deepEqual(problems, [])
    })
  })

  test('without a session the server refuses chat with 401 session_required', async () => {
    const context = await stack.browser.newContext()
    try {
      const response = await context.request.post(`${stack.baseUrl}/api/chat`, {
        data: { message: 'Вопрос без сессии', language: 'ru' },
      })
      assert.equal(response.status(), 401)
      assert.equal((await response.json()).code, 'session_required')
      const session = await (await context.request.get(`${stack.baseUrl}/api/session`)).json()
      assert.deepEqual({ active: session.active, accessCodeRequired: session.accessCodeRequired }, { active: false, accessCodeRequired: true })
    } finally {
      await context.close()
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
  mkdirSync(ARTIFACTS, { recursive: true })
  const shot = await page.screenshot({ path: join(ARTIFACTS, `${name}.png`) })
  if (SCREENSHOTS) {
    mkdirSync(SCREENSHOTS, { recursive: true })
    writeFileSync(join(SCREENSHOTS, `${name}.png`), shot)
  }
  assert.ok(readFileSync(join(ARTIFACTS, `${name}.png`)).length > 1000)
}
