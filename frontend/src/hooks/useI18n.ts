import { use } from 'react'
import { type I18n, I18nContext } from '../i18n/I18nProvider'

/** The UI language, its setter and the translate function `t`. */
export function useI18n(): I18n {
  const i18n = use(I18nContext)
  if (!i18n) throw new Error('useI18n must be used inside <I18nProvider>')
  return i18n
}
