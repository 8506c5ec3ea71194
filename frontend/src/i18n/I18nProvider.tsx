// Holds the UI language for the whole app and keeps <html lang> in sync with it.
import { createContext, type ReactNode, useCallback, useEffect, useMemo, useState } from 'react'
import type { Language } from '../api/types'
import { detectLanguage, storeLanguage } from './language'
import { type Translate, translator } from './translate'

export interface I18n {
  language: Language
  setLanguage: (language: Language) => void
  t: Translate
}

export const I18nContext = createContext<I18n | null>(null)

export function I18nProvider({ children }: { children: ReactNode }) {
  const [language, setLanguageState] = useState<Language>(() => detectLanguage())

  useEffect(() => {
    document.documentElement.lang = language
  }, [language])

  const setLanguage = useCallback((next: Language) => {
    storeLanguage(next)
    setLanguageState(next)
  }, [])

  const value = useMemo<I18n>(() => ({ language, setLanguage, t: translator(language) }), [language, setLanguage])
  return <I18nContext value={value}>{children}</I18nContext>
}
