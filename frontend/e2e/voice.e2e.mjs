// End-to-end test of questions by voice, in real headless Chromium with its
// fake microphone (`--use-fake-device-for-media-stream`: a beeping tone;
// `--use-fake-ui-for-media-stream`: the permission prompt answered yes). The
// user holds the microphone button, speaks (the tone), releases; the app
// records PCM, writes a 16 kHz mono WAV and sends it to `/api/chat/voice/stream`;
// the real server sends it to the fake Gemini as inline audio, which answers
// with a transcript line; the app shows the transcript as the user's message and
// then the answer. Also: tap-to-toggle from the keyboard (Enter, Enter),
// cancel with Escape, a denied microphone said in words, the controls' sizes
// and names at 360 px. Run alone with `node --test e2e/voice.e2e.mjs`.
/* global document, window */
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { ru } from './support/messages.mjs'
import { ARTIFACTS, REPO_ROOT, fakeControl, isGenerateCall, startStack } from './support/harness.mjs'

const PHONE = { width: 360, height: 740 }
const ANSWER_TIMEOUT = 20_000
const TEST_TIMEOUT = 90_000
const SCREENSHOTS = process.env.E2E_DOCS_SCREENSHOTS ? join(REPO_ROOT, 'docs/screenshots') : null

/** A constant of the fake Gemini, read from its source (one fact, one place). */
function fakeConstant(name) {
  const source = readFileSync(join(REPO_ROOT, 'tests/support/fake_gemini.rs'), 'utf8')
  const match = new RegExp(`pub const ${name}: &str = "([^"]*)";`).exec(source)
  if (!match) throw new Error(`no ${name} in the fake Gemini`)
  return match[1]
}
const TRANSCRIPT = fakeConstant('VOICE_TRANSCRIPT_RU')

let stack
let fake

before(async () => {
  stack = await startStack({
    serverEnv: { WELD_STARTUP_PROBE: 'off' },
    browserArgs: ['--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream'],
  })
  fake = fakeControl(stack.fakeUrl)
})

after(async () => {
  await stack?.stop()
})

/** A fresh Russian phone page on the chat; page errors are collected. */
async function withPage(body, { init } = {}) {
  const context = await stack.browser.newContext({ viewport: PHONE, locale: 'ru-RU', hasTouch: false })
  await context.grantPermissions(['microphone'], { origin: stack.baseUrl })
  if (init) await context.addInitScript(init)
  const page = await context.newPage()
  const problems = []
  page.on('pageerror', (error) => problems.push(`pageerror: ${error.message}`))
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console: ${message.text()}`)
  })
  try {
    await page.goto(`${stack.baseUrl}/chat`)
    await page.locator('.app').waitFor({ timeout: ANSWER_TIMEOUT })
    await body(page, problems)
  } finally {
    await context.close()
  }
}

async function generateCalls() {
  return (await fake.received()).filter(isGenerateCall)
}

/** The one audio part of the last user turn of a Gemini request, decoded. */
function audioOf(call) {
  const contents = call.body?.contents ?? []
  const last = contents[contents.length - 1]
  const parts = (last?.parts ?? []).map((part) => part.inlineData).filter(Boolean)
  assert.equal(parts.length, 1, JSON.stringify(last).slice(0, 300))
  return { mimeType: parts[0].mimeType, bytes: Buffer.from(parts[0].data, 'base64') }
}

/** What a WAV's header says: format, channels, rate, seconds. */
function wavInfo(bytes) {
  assert.equal(bytes.subarray(0, 4).toString('latin1'), 'RIFF')
  assert.equal(bytes.subarray(8, 12).toString('latin1'), 'WAVE')
  return {
    format: bytes.readUInt16LE(20),
    channels: bytes.readUInt16LE(22),
    rate: bytes.readUInt32LE(24),
    seconds: bytes.readUInt32LE(40) / bytes.readUInt32LE(28),
  }
}

const mic = (page) => page.getByRole('button', { name: ru['voice.start'] })

async function box(locator) {
  const rect = await locator.boundingBox()
  assert.ok(rect, 'the control is laid out')
  return rect
}

describe('questions by voice', () => {
  test(
    'hold to talk: the WAV reaches Gemini as inline audio, the transcript is the question, the answer follows',
    { timeout: TEST_TIMEOUT },
    async () => {
      await withPage(async (page, problems) => {
        const button = mic(page)
        const rect = await box(button)
        assert.ok(rect.width >= 44 && rect.height >= 44, `mic ${rect.width}×${rect.height}`)
        const before = (await generateCalls()).length

        await page.mouse.move(rect.x + rect.width / 2, rect.y + rect.height / 2)
        await page.mouse.down()
        const timer = page.getByRole('timer')
        await timer.waitFor({ timeout: ANSWER_TIMEOUT })
        assert.match(await timer.innerText(), /^0:0\d из 1:00$/)
        await page.getByText(ru['voice.releaseToSend']).waitFor()
        const cancel = page.getByRole('button', { name: ru['voice.cancel'] })
        const cancelRect = await box(cancel)
        assert.ok(cancelRect.width >= 44 && cancelRect.height >= 44, `cancel ${cancelRect.width}×${cancelRect.height}`)
        // Hold for about two seconds of the tone.
        await page.waitForFunction(
          () => /0:0[2-9]/.test(document.querySelector('[role="timer"]')?.textContent ?? ''),
          null,
          { timeout: ANSWER_TIMEOUT },
        )
        await page.screenshot({ path: join(ARTIFACTS, 'voice-recording-mobile.png') })
        if (SCREENSHOTS) await page.screenshot({ path: join(SCREENSHOTS, 'voice-recording-mobile.png') })
        await page.mouse.up()

        const log = page.getByRole('log')
        await log.locator('.message-user', { hasText: TRANSCRIPT }).waitFor({ timeout: ANSWER_TIMEOUT })
        await log.locator('.message-model strong', { hasText: '80–110 А' }).waitFor({ timeout: ANSWER_TIMEOUT })
      // As after Send: focus is not left on the page when the answer comes, it is on the answer.
      await page.waitForFunction(
        () => document.activeElement?.classList.contains('message-model') && /80–110/.test(document.activeElement.textContent ?? ''),
        null,
        { timeout: ANSWER_TIMEOUT },
      )
        assert.equal(await log.getByRole('img', { name: ru['voice.question'] }).count(), 1)
        await page.screenshot({ path: join(ARTIFACTS, 'voice-answer-mobile.png') })
        if (SCREENSHOTS) await page.screenshot({ path: join(SCREENSHOTS, 'voice-answer-mobile.png') })

        const calls = await generateCalls()
        assert.equal(calls.length, before + 1)
        const call = calls[calls.length - 1]
        assert.match(call.path, /:streamGenerateContent$/)
        const audio = audioOf(call)
        assert.equal(audio.mimeType, 'audio/wav')
        const wav = wavInfo(audio.bytes)
        assert.deepEqual([wav.format, wav.channels, wav.rate], [1, 1, 16_000])
        assert.ok(wav.seconds >= 1.5 && wav.seconds < 15, `${wav.seconds} s recorded`)
        // The tone is in the recording, not silence.
        const samples = new Int16Array(audio.bytes.buffer, audio.bytes.byteOffset + 44, (audio.bytes.length - 44) / 2)
        assert.ok(samples.some((s) => Math.abs(s) > 1000), 'the fake microphone tone was recorded')

        // Read aloud is offered under the answer, glove-sized.
        const speak = page.getByRole('button', { name: ru['voice.readAloud'] })
        const speakRect = await box(speak.first())
        assert.ok(speakRect.width >= 44 && speakRect.height >= 44, `read aloud ${speakRect.width}×${speakRect.height}`)
        assert.deepEqual(problems, [])
      })
    },
  )

  test('tap to toggle from the keyboard, the transcript goes back as history, Escape cancels', { timeout: TEST_TIMEOUT }, async () => {
    await withPage(async (page, problems) => {
      const before = (await generateCalls()).length
      await mic(page).focus()
      await page.keyboard.press('Enter')
      const timer = page.getByRole('timer')
      await timer.waitFor({ timeout: ANSWER_TIMEOUT })
      await page.getByText(ru['voice.tapToSend']).waitFor()
      // Focus stays on the button, now "stop and send".
      const send = page.getByRole('button', { name: ru['voice.send'] })
      assert.equal(await send.evaluate((el) => el === document.activeElement), true)
      await page.waitForFunction(() => /0:0[1-9]/.test(document.querySelector('[role="timer"]')?.textContent ?? ''))
      await page.keyboard.press('Enter')
      const log = page.getByRole('log')
      await log.locator('.message-model strong', { hasText: '80–110 А' }).waitFor({ timeout: ANSWER_TIMEOUT })

      // A second spoken question carries the first one's transcript as history.
      await mic(page).focus()
      await page.keyboard.press('Enter')
      await timer.waitFor({ timeout: ANSWER_TIMEOUT })
      await page.waitForFunction(() => /0:0[1-9]/.test(document.querySelector('[role="timer"]')?.textContent ?? ''))
      await page.keyboard.press('Enter')
      // The greeting and two answers, each finished (with its actions).
      await page.waitForFunction(
        () => document.querySelectorAll('.message-model .report-actions').length >= 2,
        null,
        { timeout: ANSWER_TIMEOUT },
      )
      const calls = await generateCalls()
      assert.equal(calls.length, before + 2)
      const history = calls[calls.length - 1].body.contents
      assert.equal(history[0].role, 'user')
      assert.equal(history[0].parts[0].text, TRANSCRIPT)

      // Escape throws a recording away: nothing more is sent.
      await mic(page).focus()
      await page.keyboard.press('Enter')
      await timer.waitFor({ timeout: ANSWER_TIMEOUT })
      await page.keyboard.press('Escape')
      await timer.waitFor({ state: 'detached' })
      assert.equal(await mic(page).evaluate((el) => el === document.activeElement), true)
      await page.waitForTimeout(500)
      assert.equal((await generateCalls()).length, before + 2)
      assert.deepEqual(problems, [])
    })
  })

  test('a denied microphone is said in words', { timeout: TEST_TIMEOUT }, async () => {
    const deny = () => {
      navigator.mediaDevices.getUserMedia = () => Promise.reject(new DOMException('Permission denied', 'NotAllowedError'))
      window.__denied = true
    }
    await withPage(
      async (page) => {
        const before = (await generateCalls()).length
        await mic(page).focus()
        await page.keyboard.press('Enter')
        const alert = page.getByRole('alert')
        await alert.waitFor({ timeout: ANSWER_TIMEOUT })
        assert.equal(await alert.innerText(), ru['voice.denied'])
        await page.screenshot({ path: join(ARTIFACTS, 'voice-denied-mobile.png') })
        assert.equal((await generateCalls()).length, before)
      },
      { init: deny },
    )
  })
})
