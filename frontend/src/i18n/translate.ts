// Translation functions over the dictionaries; pure, no React.
import type { ApiError } from '../api/client'
import type { Language, Waiting } from '../api/types'
import { type Dictionary, type ErrorMessages, format, type MessageKey, type MessageParams } from './dictionary'
import { en, enErrors } from './en'
import { ru, ruErrors } from './ru'

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

/** The ordinal keys by the language's ordinal plural category (Russian has only "other"). */
const ORDINAL_KEYS: Record<Intl.LDMLPluralRule, MessageKey> = {
  zero: 'ordinal.other',
  one: 'ordinal.one',
  two: 'ordinal.two',
  few: 'ordinal.few',
  many: 'ordinal.other',
  other: 'ordinal.other',
}

/** "3-й" / "3rd", "11th", "21st": a place in a line. */
export function formatOrdinal(language: Language, n: number): string {
  const category = new Intl.PluralRules(language, { type: 'ordinal' }).select(n)
  return translator(language)(ORDINAL_KEYS[category], { n })
}

/**
 * "40 с", "2 мин": how long a wait in the line is expected to take. Seconds below a
 * minute, then whole minutes (rounded to the nearest), then whole hours from 90 minutes.
 */
export function formatEstimate(t: Translate, seconds: number): string {
  const whole = Math.max(0, Math.ceil(seconds))
  if (whole < 60) return t('units.seconds', { n: whole })
  if (whole < 90 * 60) return t('units.minutes', { n: Math.round(whole / 60) })
  return t('units.hours', { n: Math.round(whole / 3600) })
}

/** "В очереди: 3-й, около 40 с" / "Waiting: 3rd, about 40 s"; estimate 0 → "вот-вот" / "any moment now". */
export function formatWaiting(language: Language, { place, estimateSeconds }: Waiting): string {
  const t = translator(language)
  const ordinal = formatOrdinal(language, place)
  if (estimateSeconds <= 0) return t('queue.next', { place: ordinal })
  return t('queue.waiting', { place: ordinal, estimate: formatEstimate(t, estimateSeconds) })
}

/** "310 КБ", "2,4 МБ" with the language's decimal separator. */
export function formatBytes(t: Translate, language: Language, bytes: number): string {
  const number = (value: number, digits: number) =>
    new Intl.NumberFormat(language, { maximumFractionDigits: digits }).format(value)
  if (bytes < 1024) return t('units.bytes', { n: number(bytes, 0) })
  if (bytes < 1024 * 1024) return t('units.kilobytes', { n: number(bytes / 1024, 0) })
  return t('units.megabytes', { n: number(bytes / (1024 * 1024), 1) })
}

/** The messages of error codes, per language; exhaustive by their type. */
export const ERROR_MESSAGES: Record<Language, ErrorMessages> = { ru: ruErrors, en: enErrors }

/** Whether this app has its own message for the code (every language has the same codes). */
function isKnownCode(code: string): code is keyof ErrorMessages {
  return Object.hasOwn(ruErrors, code)
}

const WAIT_KEYS: Partial<Record<string, MessageKey>> = {
  rate_limited: 'error.rate_limited.wait',
  budget_exhausted: 'error.budget_exhausted.wait',
}

/**
 * The message for an error in the UI language, chosen by its code. A code this app
 * has no message for (a newer or older server) shows the server's own `error` text;
 * failing that, a generic message naming the code.
 */
export function describeError(
  language: Language,
  error: Pick<ApiError, 'code' | 'retryAfterSeconds' | 'serverMessage'>,
): string {
  const t = translator(language)
  const waitKey = WAIT_KEYS[error.code]
  if (waitKey && error.retryAfterSeconds !== undefined) {
    return t(waitKey, { duration: formatDuration(t, error.retryAfterSeconds) })
  }
  if (isKnownCode(error.code)) return ERROR_MESSAGES[language][error.code]
  if (error.serverMessage !== undefined) return error.serverMessage
  return t('error.generic', { code: error.code })
}

/** "1 декабря 2026 г., 14:05" / "December 1, 2026 at 2:05 PM": when an analysis was made. */
export function formatDateTime(language: Language, iso: string): string {
  const date = new Date(iso)
  if (Number.isNaN(date.getTime())) return iso
  return new Intl.DateTimeFormat(language, { dateStyle: 'long', timeStyle: 'short' }).format(date)
}
