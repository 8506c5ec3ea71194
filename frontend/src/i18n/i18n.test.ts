import { describe, expect, it } from 'vitest'
import type { ErrorCode } from '../api/types'
import { en, enErrors } from './en'
import { detectLanguage, LANGUAGE_STORAGE_KEY } from './language'
import { ru, ruErrors } from './ru'
import {
  describeError,
  formatBytes,
  formatDuration,
  formatEstimate,
  formatOrdinal,
  formatWaiting,
  translator,
} from './translate'

/** The error codes of the public API (docs/api.md, openapi.json); ErrorCode must keep them all. */
const API_ERROR_CODES: readonly ErrorCode[] = [
  'invalid_request',
  'session_required',
  'access_code_invalid',
  'cross_site_request',
  'not_found',
  'method_not_allowed',
  'request_timeout',
  'payload_too_large',
  'audio_too_long',
  'unsupported_media_type',
  'content_blocked',
  'rate_limited',
  'budget_exhausted',
  'upstream_error',
  'upstream_auth',
  'upstream_region',
  'internal_error',
  'gemini_not_configured',
  'upstream_unavailable',
  'upstream_quota',
  'limits_unavailable',
  'upstream_timeout',
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
    expect(Object.keys(enErrors).sort()).toEqual(Object.keys(ruErrors).sort())
    const codes = Object.keys(ruErrors)
    expect(codes).toEqual(expect.arrayContaining([...API_ERROR_CODES, 'network_error', 'not_an_image']))
    for (const language of ['ru', 'en'] as const) {
      const generic = translator(language)('error.generic', { code: 'x' }).replace('x', '')
      const messages = codes.map((code) => describeError(language, { code, serverMessage: 'server text' }))
      for (const [index, message] of messages.entries()) {
        expect(message, codes[index]).not.toContain(generic)
        expect(message, codes[index]).not.toBe('server text')
        expect(message.trim(), codes[index]).not.toBe('')
      }
      expect(new Set(messages).size).toBe(codes.length)
    }
  })

  it('tells a slow upload apart from a slow AI service', () => {
    expect(describeError('ru', { code: 'request_timeout' })).toBe(ruErrors.request_timeout)
    expect(describeError('ru', { code: 'request_timeout' })).toContain('Проверьте подключение')
    expect(describeError('en', { code: 'request_timeout' })).toContain('Check your connection')
    expect(describeError('en', { code: 'upstream_timeout' })).not.toBe(describeError('en', { code: 'request_timeout' }))
  })

  it('shows the server\'s own text for a code it does not know', () => {
    expect(describeError('en', { code: 'brand_new_code', serverMessage: 'Новая ошибка сервера.' })).toBe(
      'Новая ошибка сервера.',
    )
  })

  it('falls back to a generic message naming an unknown code when the server sent no text', () => {
    expect(describeError('ru', { code: 'http_502' })).toBe('Что-то пошло не так (код: http_502). Попробуйте ещё раз.')
    expect(describeError('en', { code: 'http_502' })).toBe('Something went wrong (code: http_502). Please try again.')
  })

  it('mentions the wait of rate_limited when the server gives one', () => {
    expect(describeError('ru', { code: 'rate_limited', retryAfterSeconds: 30 })).toBe(
      'Слишком много запросов подряд. Повторите через 30 с.',
    )
    expect(describeError('en', { code: 'budget_exhausted', retryAfterSeconds: 7200 })).toBe(
      'The service’s daily request limit is used up. It resets at midnight UTC — try again in 2 h.',
    )
    expect(describeError('ru', { code: 'rate_limited' })).toBe(ruErrors.rate_limited)
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

describe('the place in the waiting line', () => {
  it('writes English ordinals', () => {
    const cases: [number, string][] = [
      [1, '1st'],
      [2, '2nd'],
      [3, '3rd'],
      [4, '4th'],
      [11, '11th'],
      [12, '12th'],
      [13, '13th'],
      [21, '21st'],
      [22, '22nd'],
      [23, '23rd'],
      [101, '101st'],
      [111, '111th'],
      [112, '112th'],
    ]
    for (const [n, text] of cases) expect(formatOrdinal('en', n)).toBe(text)
  })

  it('writes Russian ordinals as "N-й"', () => {
    for (const n of [1, 2, 3, 4, 11, 21, 101, 111]) expect(formatOrdinal('ru', n)).toBe(`${n}-й`)
  })

  it('gives the estimate in seconds below a minute, then in whole minutes', () => {
    const ru = translator('ru')
    const en = translator('en')
    expect(formatEstimate(ru, 40)).toBe('40 с')
    expect(formatEstimate(ru, 59)).toBe('59 с')
    expect(formatEstimate(ru, 60)).toBe('1 мин')
    expect(formatEstimate(ru, 89)).toBe('1 мин')
    expect(formatEstimate(ru, 90)).toBe('2 мин')
    expect(formatEstimate(ru, 120)).toBe('2 мин')
    expect(formatEstimate(en, 150)).toBe('3 min')
    expect(formatEstimate(en, 45)).toBe('45 s')
    expect(formatEstimate(en, 3 * 3600)).toBe('3 h')
  })

  it('says the whole line in both languages', () => {
    expect(formatWaiting('ru', { place: 3, estimateSeconds: 40 })).toBe('В очереди: 3-й, около 40 с')
    expect(formatWaiting('en', { place: 3, estimateSeconds: 40 })).toBe('Waiting: 3rd, about 40 s')
    expect(formatWaiting('ru', { place: 12, estimateSeconds: 120 })).toBe('В очереди: 12-й, около 2 мин')
    expect(formatWaiting('en', { place: 21, estimateSeconds: 120 })).toBe('Waiting: 21st, about 2 min')
    expect(formatWaiting('ru', { place: 1, estimateSeconds: 0 })).toBe('В очереди: 1-й, вот-вот')
    expect(formatWaiting('en', { place: 1, estimateSeconds: 0 })).toBe('Waiting: 1st, any moment now')
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
