// @ts-check
// The service worker (served as /sw.js, a stable URL with `Cache-Control: no-cache`).
// The build (vite.config.ts, plugin `weld-service-worker`) copies this file to
// dist/sw.js and fills in the two constants below: the build's version and the
// files to precache — the entry page and every file of the bundle, lazily loaded
// chunks (the Markdown renderer, the analyzer) included.
//
// - install: precache all of them into `weld-shell-<version>`, then take over at
//   once (skipWaiting); the cache is written only here, all of one build, so the
//   cached page always finds its own assets;
// - activate: delete every other `weld-shell-*` cache, claim the open pages;
// - navigations: network first; offline (or no answer within NAVIGATION_TIMEOUT_MS
//   on a bad link) the cached entry page of this build;
// - /assets/*: cache first (the names carry a content hash, they never change);
// - anything else — /api above all, but also /docs, /openapi.json, the manifests
//   and icons, other origins, any method but GET — is not touched: the browser
//   handles it as if there were no worker, and no API answer is ever stored.
//
// A new build changes `VERSION`, so the browser installs the new worker on the
// next visit (it checks /sw.js on every navigation); it activates at once and the
// next load runs the new app: the page comes from the network whenever there is one.

/** The worker's global scope (`self`, typed as a plain worker by the WebWorker lib). */
const sw = /** @type {ServiceWorkerGlobalScope} */ (/** @type {unknown} */ (self))

/** Replaced at build time with the build's content hash. */
const VERSION = '__WELD_VERSION__'
/** Replaced at build time with the URLs to precache. */
/** @type {string[]} */
const PRECACHE = JSON.parse('__WELD_PRECACHE__')

const CACHE_PREFIX = 'weld-shell-'
const CACHE = `${CACHE_PREFIX}${VERSION}`
/** The entry page's URL in the cache (every SPA route is the same page). */
const SHELL = '/'
/** After this long without an answer to a navigation, the cached page is shown. */
const NAVIGATION_TIMEOUT_MS = 4000
/** Paths the worker never answers, not even as navigations: the API and the server's own pages. */
const PASS_THROUGH = /^\/(?:api(?:\/|$)|docs(?:\/|$)|openapi\.json$|sw\.js$)/

sw.addEventListener('install', (event) => {
  event.waitUntil(
    (async () => {
      const cache = await caches.open(CACHE)
      // Through the HTTP cache: the hashed files the page has just loaded are not
      // downloaded twice, and `no-cache` files are revalidated (a 304 at most).
      await cache.addAll(PRECACHE)
      await sw.skipWaiting()
    })(),
  )
})

sw.addEventListener('activate', (event) => {
  event.waitUntil(
    (async () => {
      const names = await caches.keys()
      await Promise.all(
        names.filter((name) => name.startsWith(CACHE_PREFIX) && name !== CACHE).map((name) => caches.delete(name)),
      )
      await sw.clients.claim()
    })(),
  )
})

sw.addEventListener('fetch', (event) => {
  const request = event.request
  if (request.method !== 'GET') return
  const url = new URL(request.url)
  if (url.origin !== sw.location.origin || PASS_THROUGH.test(url.pathname)) return
  if (request.mode === 'navigate') {
    event.respondWith(navigation(event))
  } else if (url.pathname.startsWith('/assets/')) {
    event.respondWith(cacheFirst(request))
  }
})

/** @param {Request | string} request */
async function cached(request) {
  const cache = await caches.open(CACHE)
  return cache.match(request, { ignoreSearch: true, ignoreVary: true })
}

/**
 * The page from the network; the cached entry page when the network fails, or
 * does not answer in time (the network answer is then left to finish unused).
 * @param {FetchEvent} event
 * @returns {Promise<Response>}
 */
async function navigation(event) {
  const network = fetch(event.request)
  /** @type {Promise<Response | undefined>} */
  const late = new Promise((resolve) => {
    setTimeout(() => {
      resolve(cached(SHELL))
    }, NAVIGATION_TIMEOUT_MS)
  })
  try {
    const first = await Promise.race([network, late])
    if (first) return first
    return await network
  } catch {
    const shell = await cached(SHELL)
    if (shell) return shell
    return network
  }
}

/** @param {Request} request */
async function cacheFirst(request) {
  const hit = await cached(request)
  if (hit) return hit
  const response = await fetch(request)
  if (response.ok) {
    const copy = response.clone()
    background(caches.open(CACHE).then((cache) => cache.put(request, copy)))
  }
  return response
}

/**
 * Runs a cache write in the background; a failure (quota) only costs a later miss.
 * @param {Promise<unknown>} work
 */
function background(work) {
  work.catch(() => undefined)
}
