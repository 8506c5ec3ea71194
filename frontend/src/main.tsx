import { StrictMode } from 'react'
import { createRoot } from 'react-dom/client'
import { App } from './app/App'
import { I18nProvider } from './i18n/I18nProvider'
import { applyTheme, storedTheme, systemTheme } from './lib/theme'
import { registerServiceWorker, syncManifestLanguage } from './pwa/register'
import './styles.css'

const root = document.getElementById('root')
if (!root) throw new Error('index.html has no #root element')

// Before the first paint, so the page does not flash in the other theme.
applyTheme(storedTheme() ?? systemTheme())

createRoot(root).render(
  <StrictMode>
    <I18nProvider>
      <App />
    </I18nProvider>
  </StrictMode>,
)

syncManifestLanguage()
registerServiceWorker()
