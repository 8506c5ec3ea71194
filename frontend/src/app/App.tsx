// The shell: header with the product name and language switch, the two view
// tabs (kept in the URL), and the views. The analyzer is loaded on first use
// and both views stay mounted afterwards, so a request in flight survives a
// tab switch. While the session is being checked, or an access code is needed,
// the views are hidden (not unmounted: a request waiting for the code resumes
// when it has been entered) and the code screen is shown in their place.
import { LogOut } from 'lucide-react'
import { lazy, type KeyboardEvent, Suspense, useEffect, useRef, useState } from 'react'
import { LanguageSwitch } from '../components/LanguageSwitch'
import { Logo } from '../components/Logo'
import { ThemeSwitch } from '../components/ThemeSwitch'
import { ChatAssistant } from '../features/chat/ChatAssistant'
import { type AnalysisToAttach, attachAnalysis } from '../features/chat/conversation'
import { useI18n } from '../hooks/useI18n'
import { WithSessionContext } from '../hooks/useWithSession'
import { AccessCodeForm } from './AccessCodeForm'
import { OfflineBanner } from './OfflineBanner'
import { navigate, useRoute, type View, VIEW_PATHS } from './useRoute'
import { useSession } from './useSession'

const loadAnalyzer = () => import('../features/analysis/WeldAnalyzer')
const WeldAnalyzer = lazy(loadAnalyzer)

/**
 * "Ask about this analysis" in the analyzer: the analysis joins the chat's
 * conversation and the chat opens. Wired here, so neither feature imports the other.
 */
function askInChat(analysis: AnalysisToAttach): void {
  attachAnalysis(analysis)
  navigate('chat')
}

const VIEWS: readonly View[] = ['chat', 'analyze']
const LABEL_KEYS = { chat: 'nav.chat', analyze: 'nav.analyze' } as const

function tabId(view: View) {
  return `tab-${view}`
}
function panelId(view: View) {
  return `panel-${view}`
}

export function App() {
  const { t } = useI18n()
  const session = useSession()
  const [view] = useRoute()
  const [analyzerWanted, setAnalyzerWanted] = useState(view === 'analyze')
  if (view === 'analyze' && !analyzerWanted) setAnalyzerWanted(true)

  useEffect(() => {
    document.title = t('app.documentTitle', { view: t(LABEL_KEYS[view]) })
  }, [t, view])

  function onTabKeyDown(event: KeyboardEvent<HTMLAnchorElement>) {
    const index = VIEWS.indexOf(view)
    let next: View | undefined
    if (event.key === 'ArrowRight') next = VIEWS[(index + 1) % VIEWS.length]
    else if (event.key === 'ArrowLeft') next = VIEWS[(index - 1 + VIEWS.length) % VIEWS.length]
    else if (event.key === 'Home') next = VIEWS[0]
    else if (event.key === 'End') next = VIEWS[VIEWS.length - 1]
    if (!next) return
    event.preventDefault()
    navigate(next)
    document.getElementById(tabId(next))?.focus()
  }

  const ready = session.phase === 'ready'

  // The code screen goes away once the code is accepted: focus goes to the current
  // view's tab rather than falling back to the page.
  const wasCode = useRef(false)
  useEffect(() => {
    if (session.phase === 'code') wasCode.current = true
    else if (ready && wasCode.current) {
      wasCode.current = false
      const active = document.activeElement
      if (active === null || active === document.body) document.getElementById(tabId(view))?.focus()
    }
  }, [session.phase, ready, view])

  return (
    <WithSessionContext value={session.withSession}>
      <div className="app">
        <header className="app-header">
          <div className="brand">
            <Logo />
            <div className="brand-text">
              <h1 className="brand-name">{t('app.name')}</h1>
              <p className="brand-tagline">{t('app.tagline')}</p>
            </div>
          </div>
          <div className="header-actions">
            {ready && session.accessCodeRequired && (
              <button
                type="button"
                className="button button-ghost sign-out"
                title={t('access.signOutHint')}
                onClick={() => void session.signOut()}
              >
                <LogOut aria-hidden="true" size={18} />
                <span className="sign-out-label">{t('access.signOut')}</span>
              </button>
            )}
            <ThemeSwitch />
            <LanguageSwitch />
          </div>
        </header>
        <OfflineBanner />

        {session.phase === 'checking' && (
          <p className="loading loading-delayed" role="status">
            {t('common.loading')}
          </p>
        )}
        {session.phase === 'code' && (
          <main className="app-main app-main-access">
            <AccessCodeForm onSubmit={session.submitCode} />
          </main>
        )}

        <nav className="tabs" aria-label={t('nav.label')} hidden={!ready}>
          <div role="tablist" aria-label={t('nav.label')}>
            {VIEWS.map((option) => (
              <a
                key={option}
                id={tabId(option)}
                role="tab"
                href={VIEW_PATHS[option]}
                aria-selected={view === option}
                aria-controls={panelId(option)}
                tabIndex={view === option ? 0 : -1}
                onKeyDown={onTabKeyDown}
                onPointerEnter={option === 'analyze' ? () => void loadAnalyzer() : undefined}
                onClick={(event) => {
                  if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return
                  event.preventDefault()
                  navigate(option)
                }}
              >
                {t(LABEL_KEYS[option])}
              </a>
            ))}
          </div>
        </nav>

        <main className="app-main" hidden={!ready}>
          <section
            id={panelId('chat')}
            role="tabpanel"
            aria-labelledby={tabId('chat')}
            className="panel panel-chat"
            hidden={view !== 'chat'}
          >
            <ChatAssistant />
          </section>
          <section
            id={panelId('analyze')}
            role="tabpanel"
            aria-labelledby={tabId('analyze')}
            className="panel panel-analyze"
            hidden={view !== 'analyze'}
          >
            {analyzerWanted && (
              <Suspense fallback={<p className="loading">{t('common.loading')}</p>}>
                <WeldAnalyzer active={view === 'analyze'} onAsk={askInChat} />
              </Suspense>
            )}
          </section>
        </main>
      </div>
    </WithSessionContext>
  )
}
