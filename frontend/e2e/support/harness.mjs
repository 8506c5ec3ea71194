// End-to-end harness: starts the fake Gemini and the weld-assistant binary on
// free ports, launches headless Chromium (the system one, through
// playwright-core), and tears everything down again. Only the processes
// started here are killed, by their own PIDs.
import { spawn } from 'node:child_process'
import { mkdirSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium } from 'playwright-core'

const here = dirname(fileURLToPath(import.meta.url))
export const REPO_ROOT = resolve(here, '..', '..', '..')
export const WELD_BIN = process.env.WELD_BIN ?? resolve(REPO_ROOT, 'target/debug/weld-assistant')
export const FAKE_BIN = process.env.FAKE_BIN ?? resolve(REPO_ROOT, 'target/debug/examples/fake_gemini')
export const CHROMIUM = process.env.CHROMIUM_BIN ?? '/usr/bin/chromium'
export const ARTIFACTS = resolve(REPO_ROOT, 'target/e2e')
/** A key nobody uses: it must never show up in the browser. */
export const CANARY_KEY = 'e2e-canary-key-8d4b1f0e3a'

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
]

/**
 * Spawns `bin` and resolves with the first match of `pattern` in its stdout or
 * stderr (whichever prints it), or rejects after `timeoutMs` / on early exit.
 */
function startProcess(name, bin, args, env, pattern, timeoutMs = 20_000) {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(bin, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    let done = false
    const timer = setTimeout(() => {
      finish(new Error(`${name} did not report its address within ${timeoutMs} ms. Output:\n${output}`))
    }, timeoutMs)
    function finish(error, match) {
      if (done) return
      done = true
      clearTimeout(timer)
      if (error) {
        if (child.exitCode === null) child.kill('SIGKILL')
        reject(error)
      } else {
        resolvePromise({ child, match, output: () => output })
      }
    }
    const onData = (chunk) => {
      output += chunk.toString()
      // Keep the log bounded; only the start-up line is needed from it.
      if (output.length > 200_000) output = output.slice(-100_000)
      const match = pattern.exec(output)
      if (match) finish(null, match)
    }
    child.stdout.on('data', onData)
    child.stderr.on('data', onData)
    child.on('error', (error) => finish(new Error(`${name} (${bin}) failed to start: ${error.message}`)))
    child.on('exit', (code, signal) => {
      finish(new Error(`${name} exited early (code ${code}, signal ${signal}). Output:\n${output}`))
    })
  })
}

function stopProcess(child) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
  return new Promise((resolvePromise) => {
    const timer = setTimeout(() => {
      if (child.exitCode === null) child.kill('SIGKILL')
    }, 5_000)
    child.once('exit', () => {
      clearTimeout(timer)
      resolvePromise()
    })
    child.kill('SIGTERM')
  })
}

/**
 * Starts fake Gemini + server + browser. Returns the handles and helpers.
 * `serverEnv` adds to (or overrides) the server's environment, e.g.
 * `{ WELD_ACCESS_CODE: '…' }` for a server that wants an access code.
 * `browserArgs` adds Chromium flags (e.g. a fake microphone).
 */
export async function startStack({ serverEnv = {}, browserArgs = [] } = {}) {
  mkdirSync(ARTIFACTS, { recursive: true })
  const stack = { fake: null, server: null, browser: null }
  try {
    stack.fake = await startProcess(
      'fake_gemini',
      FAKE_BIN,
      ['127.0.0.1:0'],
      {},
      /fake Gemini listening on (http:\/\/127\.0\.0\.1:\d+)/,
    )
    const fakeUrl = stack.fake.match[1]
    stack.server = await startProcess(
      'weld-assistant',
      WELD_BIN,
      [],
      {
        WELD_LISTEN: '127.0.0.1:0',
        GEMINI_API_KEY: CANARY_KEY,
        WELD_GEMINI_BASE_URL: fakeUrl,
        WELD_COOKIE_SECURE: 'false',
        // The suite sends a dozen requests within seconds from one address.
        WELD_RATE_LIMIT_PER_MINUTE: '600',
        WELD_RATE_LIMIT_BURST: '100',
        WELD_LOG_FORMAT: 'text',
        RUST_LOG: 'info',
        NO_COLOR: '1',
        ...serverEnv,
      },
      /weld-assistant listening.*?address=(127\.0\.0\.1:\d+)/,
    )
    const baseUrl = `http://${stack.server.match[1]}`
    stack.browser = await chromium.launch({ executablePath: CHROMIUM, args: [...CHROMIUM_ARGS, ...browserArgs] })
    return {
      baseUrl,
      fakeUrl,
      browser: stack.browser,
      serverLog: () => stack.server.output(),
      stop: () => stopStack(stack),
    }
  } catch (error) {
    await stopStack(stack)
    throw error
  }
}

async function stopStack(stack) {
  if (stack.browser) await stack.browser.close().catch(() => {})
  await stopProcess(stack.server?.child)
  await stopProcess(stack.fake?.child)
}

/** Control of the fake Gemini over its `/__fake/*` endpoints. */
export function fakeControl(fakeUrl) {
  return {
    async script(replies) {
      const response = await fetch(`${fakeUrl}/__fake/script`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(replies),
      })
      if (!response.ok) throw new Error(`scripting the fake failed: ${response.status}`)
    },
    async received() {
      const response = await fetch(`${fakeUrl}/__fake/received`)
      if (!response.ok) throw new Error(`reading the fake's log failed: ${response.status}`)
      return response.json()
    },
  }
}

/** A scripted 200 answer whose text is `text`. */
export function okReply(text, delayMs = 0) {
  return {
    status: 200,
    contentType: 'application/json; charset=UTF-8',
    delayMs,
    body: JSON.stringify({
      candidates: [{ content: { parts: [{ text }], role: 'model' }, finishReason: 'STOP', index: 0 }],
      usageMetadata: { promptTokenCount: 10, candidatesTokenCount: 20, totalTokenCount: 30 },
      modelVersion: 'gemini-flash-latest',
    }),
  }
}

/** One `data:` event of Gemini's `streamGenerateContent?alt=sse`; `last` adds finishReason and usage. */
export function streamChunk(text, last = false) {
  const response = {
    candidates: [{ content: { parts: [{ text }], role: 'model' }, index: 0, ...(last ? { finishReason: 'STOP' } : {}) }],
    ...(last ? { usageMetadata: { promptTokenCount: 10, candidatesTokenCount: 20, totalTokenCount: 30 } } : {}),
    modelVersion: 'gemini-flash-latest',
  }
  return `data: ${JSON.stringify(response)}\r\n\r\n`
}

/**
 * A scripted streamed answer (for the app's `/api/*\/stream` calls): each piece
 * is one SSE chunk, sent `chunkDelayMs` after the one before it.
 */
export function streamReply(pieces, { chunkDelayMs = 0, delayMs = 0 } = {}) {
  const list = Array.isArray(pieces) ? pieces : [pieces]
  return {
    status: 200,
    contentType: 'text/event-stream',
    delayMs,
    chunkDelayMs,
    chunks: list.map((text, i) => streamChunk(text, i === list.length - 1)),
  }
}

/** Whether a request the fake received is a generation call (plain or streamed). */
export function isGenerateCall(received) {
  return received.method === 'POST' && /:(generateContent|streamGenerateContent)$/.test(received.path)
}

/** All text parts of a Gemini request body, joined. */
export function requestText(body) {
  return (body?.contents ?? [])
    .flatMap((content) => content.parts ?? [])
    .map((part) => part.text ?? '')
    .join('\n')
}

/** The inlineData parts of a Gemini request body. */
export function inlineImages(body) {
  return (body?.contents ?? [])
    .flatMap((content) => content.parts ?? [])
    .map((part) => part.inlineData ?? part.inline_data)
    .filter(Boolean)
}
