// Which UI language to start with, and remembering the user's choice.
import type { Language } from '../api/types'

export const LANGUAGES: readonly Language[] = ['ru', 'en']
export const DEFAULT_LANGUAGE: Language = 'ru'
export const LANGUAGE_STORAGE_KEY = 'weld-assistant.language'

export function isLanguage(value: unknown): value is Language {
  return value === 'ru' || value === 'en'
}

function readStored(storage: Storage | undefined): Language | undefined {
  try {
    // Reading `localStorage` itself throws where site data is blocked.
    const stored = (storage ?? localStorage).getItem(LANGUAGE_STORAGE_KEY)
    return isLanguage(stored) ? stored : undefined
  } catch {
    return undefined
  }
}

/**
 * The stored choice; else the first of ru/en in the browser's preferred
 * languages (so a browser that prefers English gets English); else Russian.
 */
export function detectLanguage(storage?: Storage, preferred: readonly string[] = navigator.languages): Language {
  const stored = readStored(storage)
  if (stored) return stored
  for (const tag of preferred) {
    const primary = tag.toLowerCase().split('-')[0]
    if (isLanguage(primary)) return primary
  }
  return DEFAULT_LANGUAGE
}

export function storeLanguage(language: Language, storage?: Storage): void {
  try {
    ;(storage ?? localStorage).setItem(LANGUAGE_STORAGE_KEY, language)
  } catch {
    // Private mode or a full storage: the choice just is not remembered.
  }
}
