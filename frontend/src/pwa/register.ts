// The installable app's page side: registers the service worker (src/pwa/sw.js,
// served as /sw.js) in a production build, and points <link rel="manifest"> at
// the manifest in the page's language. It must not touch the API or the caches:
// what is cached, and when a new version takes over, is the worker's business.

const MANIFESTS = { ru: '/manifest.webmanifest', en: '/manifest.en.webmanifest' } as const

/** The manifest for a page language: English for `en*`, else the Russian default. */
export function manifestFor(lang: string): string {
  return lang.toLowerCase().startsWith('en') ? MANIFESTS.en : MANIFESTS.ru
}

/** Registers /sw.js once the page has loaded (production builds only; `npm run dev` has none). */
export function registerServiceWorker(): void {
  if (!import.meta.env.PROD || !('serviceWorker' in navigator)) return
  const register = () => {
    navigator.serviceWorker.register('/sw.js', { scope: '/' }).catch((error: unknown) => {
      // The app works without it, only not offline.
      console.warn('The service worker could not be registered:', error)
    })
  }
  if (document.readyState === 'complete') register()
  else window.addEventListener('load', register, { once: true })
}

/**
 * Keeps `<link rel="manifest">` on the manifest of `<html lang>` (which the
 * i18n provider sets), so installing the app names it in the language in use.
 */
export function syncManifestLanguage(root: HTMLElement = document.documentElement): () => void {
  const update = () => {
    const link = document.querySelector<HTMLLinkElement>('link[rel="manifest"]')
    const href = manifestFor(root.lang)
    if (link && link.getAttribute('href') !== href) link.setAttribute('href', href)
  }
  update()
  const observer = new MutationObserver(update)
  observer.observe(root, { attributes: true, attributeFilter: ['lang'] })
  return () => observer.disconnect()
}
