// RU / EN toggle in the header.
import type { Language } from '../api/types'
import { useI18n } from '../hooks/useI18n'
import { LANGUAGES } from '../i18n/language'

const SHORT: Record<Language, string> = { ru: 'RU', en: 'EN' }

export function LanguageSwitch() {
  const { language, setLanguage, t } = useI18n()
  return (
    <div className="language-switch" role="group" aria-label={t('language.label')}>
      {LANGUAGES.map((option) => (
        <button
          key={option}
          type="button"
          lang={option}
          title={t(`language.${option}`)}
          aria-pressed={language === option}
          onClick={() => setLanguage(option)}
        >
          {SHORT[option]}
        </button>
      ))}
    </div>
  )
}
