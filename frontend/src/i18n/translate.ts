// Translation functions over the dictionaries; pure, no React.
import type { ApiError } from '../api/client'
import type { Language } from '../api/types'
import { type Dictionary, format, type MessageKey, type MessageParams } from './dictionary'
import { en } from './en'
import { ru } from './ru'

export const DICTIONARIES: Record<Language, Dictionary> = { ru, en }

export type Translate = (key: MessageKey, params?: MessageParams) => string

export function translator(language: Language): Translate {
  const dictionary = DICTIONARIES[language]
  return (key, params) => format(dictionary[key], params)
}

/** "45 с", "12 мин", "3 ч": a wait rounded up to a unit a person reads at a glance. */
export function formatDuration(t: Translate, seconds: number): string {
  if (seconds < 90) return t('units.seconds', { n: Math.max(1, Math.ceil(seconds)) })
  if (seconds < 90 * 60) return t('units.minutes', { n: Math.ceil(seconds / 60) })
  return t('units.hours', { n: Math.ceil(seconds / 3600) })
}

/** "310 КБ", "2,4 МБ" with the language's decimal separator. */
export function formatBytes(t: Translate, language: Language, bytes: number): string {
  const number = (value: number, digits: number) =>
    new Intl.NumberFormat(language, { maximumFractionDigits: digits }).format(value)
  if (bytes < 1024) return t('units.bytes', { n: number(bytes, 0) })
  if (bytes < 1024 * 1024) return t('units.kilobytes', { n: number(bytes / 1024, 0) })
  return t('units.megabytes', { n: number(bytes / (1024 * 1024), 1) })
}

const ERROR_KEYS: Partial<Record<string, MessageKey>> = {
  invalid_request: 'error.invalid_request',
  session_required: 'error.session_required',
  access_code_invalid: 'error.access_code_invalid',
  cross_site_request: 'error.cross_site_request',
  not_found: 'error.not_found',
  payload_too_large: 'error.payload_too_large',
  unsupported_media_type: 'error.unsupported_media_type',
  content_blocked: 'error.content_blocked',
  rate_limited: 'error.rate_limited',
  budget_exhausted: 'error.budget_exhausted',
  upstream_error: 'error.upstream_error',
  upstream_auth: 'error.upstream_auth',
  upstream_region: 'error.upstream_region',
  gemini_not_configured: 'error.gemini_not_configured',
  upstream_unavailable: 'error.upstream_unavailable',
  upstream_quota: 'error.upstream_quota',
  upstream_timeout: 'error.upstream_timeout',
  internal_error: 'error.internal_error',
  network_error: 'error.network_error',
  not_an_image: 'error.not_an_image',
}

const WAIT_KEYS: Partial<Record<string, MessageKey>> = {
  rate_limited: 'error.rate_limited.wait',
  budget_exhausted: 'error.budget_exhausted.wait',
}

/** The message for an error, chosen by its code, in the UI language. */
export function describeError(t: Translate, error: Pick<ApiError, 'code' | 'retryAfterSeconds'>): string {
  const waitKey = WAIT_KEYS[error.code]
  if (waitKey && error.retryAfterSeconds !== undefined) {
    return t(waitKey, { duration: formatDuration(t, error.retryAfterSeconds) })
  }
  const key = ERROR_KEYS[error.code]
  return key ? t(key) : t('error.generic', { code: error.code })
}
