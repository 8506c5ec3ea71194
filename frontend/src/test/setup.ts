// Test environment: jsdom + Testing Library matchers + the msw server that
// stands in for the Rust API at the network layer.
import '@testing-library/jest-dom/vitest'
import { Blob as NodeBlob, File as NodeFile } from 'node:buffer'
import { cleanup } from '@testing-library/react'
import { afterAll, afterEach, beforeAll } from 'vitest'
import { server } from './server'

// jsdom brings its own Blob, File and FormData, but `fetch` is Node's, which
// serializes only its own kinds: a jsdom File in a multipart body arrives as
// "[object File]". Use Node's three, as a browser has one family of them.
const NodeFormData = (await new Response(new URLSearchParams('x=1')).formData()).constructor
Object.assign(globalThis, { Blob: NodeBlob, File: NodeFile, FormData: NodeFormData })

// jsdom's browser prefers English; the app's users mostly prefer Russian.
// Tests about the English preference spy on this getter.
Object.defineProperty(window.navigator, 'languages', {
  configurable: true,
  get: (): readonly string[] => ['ru-RU', 'ru'],
})

// jsdom does no layout, so it has no scrolling.
Element.prototype.scrollIntoView = function scrollIntoView() {
  // nothing to scroll
}

beforeAll(() => {
  server.listen({ onUnhandledRequest: 'error' })
})

afterEach(() => {
  cleanup()
  server.resetHandlers()
  localStorage.clear()
  window.history.replaceState(null, '', '/')
  document.documentElement.lang = ''
})

afterAll(() => {
  server.close()
})
