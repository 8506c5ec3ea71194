// Light / dark switch in the header. Pressed means the light, high-contrast theme.
// The user's choice is kept on the device; until one is made the theme follows
// the system and changes with it.
import { Sun } from 'lucide-react'
import { useEffect, useState } from 'react'
import { useI18n } from '../hooks/useI18n'
import { applyTheme, onSystemThemeChange, storedTheme, storeTheme, systemTheme, type Theme } from '../lib/theme'

export function ThemeSwitch() {
  const { t } = useI18n()
  const [chosen, setChosen] = useState<Theme | null>(storedTheme)
  const [system, setSystem] = useState<Theme>(systemTheme)
  const theme = chosen ?? system

  useEffect(() => onSystemThemeChange(() => setSystem(systemTheme())), [])
  useEffect(() => applyTheme(theme), [theme])

  function toggle() {
    const next: Theme = theme === 'light' ? 'dark' : 'light'
    storeTheme(next)
    setChosen(next)
  }

  return (
    <button
      type="button"
      className="theme-switch"
      aria-pressed={theme === 'light'}
      title={t('theme.lightHint')}
      onClick={toggle}
    >
      <Sun aria-hidden="true" size={20} />
      <span className="visually-hidden">{t('theme.light')}</span>
    </button>
  )
}
