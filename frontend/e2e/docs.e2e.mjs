// The API docs (/docs, Swagger UI) in real headless Chromium under the server's
// CSP: its inline scripts are allowed by their SHA-256 hashes, not by
// 'unsafe-inline', and the page must still render with no CSP violation.
/* global document, window */
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { startStack } from './support/harness.mjs'

let stack

before(async () => {
  stack = await startStack()
})

after(async () => {
  await stack?.stop()
})

test('Swagger UI renders under a CSP without unsafe-inline scripts', async () => {
  const context = await stack.browser.newContext()
  const page = await context.newPage()
  const problems = []
  page.on('response', (response) => {
    // The browser asks for /favicon.ico on its own; the app has none at that path.
    if (response.status() >= 400 && !response.url().endsWith('/favicon.ico')) {
      problems.push(`${response.status()} ${response.url()}`)
    }
  })
  page.on('console', (message) => {
    if (/Failed to load resource/.test(message.text())) return // judged by status above
    if (message.type() === 'error' || /Content Security Policy/i.test(message.text())) {
      problems.push(`console: ${message.text()}`)
    }
  })
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`))
  // Injected by the browser itself, so the page's CSP does not apply to it.
  await page.addInitScript(() => {
    window.__violations = []
    document.addEventListener('securitypolicyviolation', (event) => {
      window.__violations.push(`${event.violatedDirective}: ${event.blockedURI} ${event.sample}`)
    })
  })
  try {
    const response = await page.goto(`${stack.baseUrl}/docs`)
    assert.equal(response.status(), 200)
    const csp = response.headers()['content-security-policy']
    const scriptSrc = csp.split(';').find((d) => d.trim().startsWith('script-src'))
    assert.ok(!scriptSrc.includes('unsafe-inline'), csp)
    assert.match(scriptSrc, /'sha256-[A-Za-z0-9+/=]+'/)

    // The spec was read and the operations are listed.
    await page.locator('.swagger-ui .opblock', { hasText: '/api/chat' }).first().waitFor({ timeout: 20_000 })
    assert.ok((await page.locator('.swagger-ui .opblock').count()) >= 4)
    // Opening an operation runs Swagger UI's own code further.
    await page.locator('.swagger-ui .opblock-summary', { hasText: '/api/health' }).first().click()
    await page.locator('.swagger-ui .opblock-body').first().waitFor({ timeout: 10_000 })

    const violations = await page.evaluate(() => window.__violations)
    assert.deepEqual(violations, [], 'no CSP violation')
    assert.deepEqual(problems, [], 'no console error')
  } finally {
    await context.close()
  }
})
