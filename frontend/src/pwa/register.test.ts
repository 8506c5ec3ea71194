import { describe, expect, it } from 'vitest'
import { manifestFor, syncManifestLanguage } from './register'

describe('the manifest link', () => {
  it('names the manifest of the page language, Russian by default', () => {
    expect(manifestFor('ru')).toBe('/manifest.webmanifest')
    expect(manifestFor('en')).toBe('/manifest.en.webmanifest')
    expect(manifestFor('en-GB')).toBe('/manifest.en.webmanifest')
    expect(manifestFor('')).toBe('/manifest.webmanifest')
    expect(manifestFor('be')).toBe('/manifest.webmanifest')
  })

  it('follows <html lang> as the language changes', async () => {
    const link = document.createElement('link')
    link.rel = 'manifest'
    link.href = '/manifest.webmanifest'
    document.head.append(link)
    const root = document.documentElement
    root.lang = 'en'
    const stop = syncManifestLanguage(root)
    try {
      expect(link.getAttribute('href')).toBe('/manifest.en.webmanifest')
      root.lang = 'ru'
      await new Promise((resolve) => setTimeout(resolve, 0))
      expect(link.getAttribute('href')).toBe('/manifest.webmanifest')
    } finally {
      stop()
      link.remove()
    }
  })
})
