import { describe, expect, it } from 'vitest'
import { en } from './en'
import { detectLanguage, LANGUAGE_STORAGE_KEY } from './language'
import { ru } from './ru'
import { describeError, formatBytes, formatDuration, translator } from './translate'

/** Every error code of the public API (docs/api.md, openapi.json) plus the client's own. */
const ERROR_CODES = [
  'invalid_request',
  'session_required',
  'access_code_invalid',
  'cross_site_request',
  'not_found',
  'payload_too_large',
  'unsupported_media_type',
  'content_blocked',
  'rate_limited',
  'budget_exhausted',
  'upstream_error',
  'upstream_auth',
  'upstream_region',
  'gemini_not_configured',
  'upstream_unavailable',
  'upstream_quota',
  'upstream_timeout',
  'internal_error',
  'network_error',
]

const placeholders = (text: string) => [...text.matchAll(/\{(\w+)\}/g)].map((match) => match[1]).sort()

describe('dictionaries', () => {
  it('have identical keys', () => {
    expect(Object.keys(en).sort()).toEqual(Object.keys(ru).sort())
  })

  it('have no empty texts and the same placeholders in every language', () => {
    for (const key of Object.keys(ru) as (keyof typeof ru)[]) {
      expect(ru[key].trim(), key).not.toBe('')
      expect(en[key].trim(), key).not.toBe('')
      expect(placeholders(en[key]), key).toEqual(placeholders(ru[key]))
    }
  })

  it('explain every API error code in its own words, in both languages', () => {
    for (const language of ['ru', 'en'] as const) {
      const t = translator(language)
      const generic = t('error.generic', { code: 'x' }).replace('x', '')
      const messages = ERROR_CODES.map((code) => describeError(t, { code }))
      for (const [index, message] of messages.entries()) {
        expect(message, ERROR_CODES[index]).not.toContain(generic)
      }
      expect(new Set(messages).size).toBe(ERROR_CODES.length)
    }
  })

  it('falls back to a generic message naming an unknown code', () => {
    expect(describeError(translator('ru'), { code: 'http_502' })).toBe(
      'Что-то пошло не так (код: http_502). Попробуйте ещё раз.',
    )
  })

  it('mentions the wait of rate_limited when the server gives one', () => {
    const t = translator('ru')
    expect(describeError(t, { code: 'rate_limited', retryAfterSeconds: 30 })).toBe(
      'Слишком много запросов подряд. Повторите через 30 с.',
    )
    expect(describeError(translator('en'), { code: 'budget_exhausted', retryAfterSeconds: 7200 })).toBe(
      'The service’s daily request limit is used up. It resets at midnight UTC — try again in 2 h.',
    )
    expect(describeError(t, { code: 'rate_limited' })).toBe(ru['error.rate_limited'])
  })

  it('formats waits and sizes for people', () => {
    const t = translator('ru')
    expect(formatDuration(t, 0.2)).toBe('1 с')
    expect(formatDuration(t, 300)).toBe('5 мин')
    expect(formatBytes(t, 'ru', 2.4 * 1024 * 1024)).toBe('2,4 МБ')
    expect(formatBytes(translator('en'), 'en', 310 * 1024)).toBe('310 KB')
    expect(formatBytes(t, 'ru', 512)).toBe('512 Б')
  })
})

describe('detectLanguage', () => {
  it('prefers the stored choice', () => {
    localStorage.setItem(LANGUAGE_STORAGE_KEY, 'en')
    expect(detectLanguage(localStorage, ['ru-RU'])).toBe('en')
  })

  it('takes the first of ru/en in the browser languages', () => {
    expect(detectLanguage(localStorage, ['de-DE', 'en-GB', 'ru'])).toBe('en')
    expect(detectLanguage(localStorage, ['be-BY', 'ru-BY', 'en'])).toBe('ru')
  })

  it('falls back to Russian', () => {
    expect(detectLanguage(localStorage, ['de', 'fr'])).toBe('ru')
    localStorage.setItem(LANGUAGE_STORAGE_KEY, 'de')
    expect(detectLanguage(localStorage, [])).toBe('ru')
  })
})
