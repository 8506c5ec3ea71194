// The colour theme: dark (the default look) or light, high contrast (for bright
// light). The choice made with the switch is kept on this device; without one the
// theme follows the system's `prefers-color-scheme`. Applied as `data-theme` on
// <html>, which styles.css reads. Knows nothing of React.

export type Theme = 'dark' | 'light'

export const THEME_STORAGE_KEY = 'weld-assistant.theme'

const LIGHT_QUERY = '(prefers-color-scheme: light)'

export function isTheme(value: unknown): value is Theme {
  return value === 'dark' || value === 'light'
}

/** The theme chosen on this device, or null when the system decides. */
export function storedTheme(): Theme | null {
  try {
    const value = localStorage.getItem(THEME_STORAGE_KEY)
    return isTheme(value) ? value : null
  } catch {
    return null
  }
}

export function storeTheme(theme: Theme): void {
  try {
    localStorage.setItem(THEME_STORAGE_KEY, theme)
  } catch {
    // Private mode or a full storage: the choice lasts until the page is closed.
  }
}

function systemQuery(): MediaQueryList | null {
  return typeof window.matchMedia === 'function' ? window.matchMedia(LIGHT_QUERY) : null
}

/** The system's preference: light when it asks for light, else dark. */
export function systemTheme(): Theme {
  return systemQuery()?.matches ? 'light' : 'dark'
}

/** Calls `listener` when the system's preference changes; returns the unsubscribe. */
export function onSystemThemeChange(listener: () => void): () => void {
  const query = systemQuery()
  if (!query) return () => undefined
  query.addEventListener('change', listener)
  return () => query.removeEventListener('change', listener)
}

export function applyTheme(theme: Theme): void {
  document.documentElement.dataset.theme = theme
  // The browser's own bar and the installed app's title bar follow the page.
  document.querySelector('meta[name="theme-color"]')?.setAttribute('content', theme === 'light' ? '#ffffff' : '#0f172a')
}
