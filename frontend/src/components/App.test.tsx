import { screen, waitFor, within } from '@testing-library/react'
import { http } from 'msw'
import { describe, expect, it, vi } from 'vitest'
import { LANGUAGE_STORAGE_KEY } from '../i18n/language'
import { streamReply } from '../test/handlers'
import { renderWithI18n } from '../test/render'
import { server } from '../test/server'
import { App } from './App'

/** Renders the app and waits until the session check lets the views show. */
async function renderApp(path = '/') {
  window.history.replaceState(null, '', path)
  const view = renderWithI18n(<App />)
  await screen.findByRole('tablist')
  return view
}

describe('App shell', () => {
  it('shows the product name and the chat at /', async () => {
    await renderApp('/')

    expect(screen.getByRole('heading', { level: 1, name: 'Weld Assistant' })).toBeInTheDocument()
    expect(screen.getByRole('tab', { name: 'Помощник' })).toHaveAttribute('aria-selected', 'true')
    expect(screen.getByRole('tabpanel', { name: 'Помощник' })).toBeVisible()
    expect(screen.getByRole('textbox', { name: 'Ваш вопрос' })).toBeInTheDocument()
  })

  it('switches views by tab and URL, and follows back/forward', async () => {
    const { user } = await renderApp('/chat')

    await user.click(screen.getByRole('tab', { name: 'Анализ шва' }))

    expect(window.location.pathname).toBe('/analyze')
    expect(screen.getByRole('tab', { name: 'Анализ шва' })).toHaveAttribute('aria-selected', 'true')
    expect(await screen.findByRole('heading', { name: 'Анализ сварного шва по фото' })).toBeVisible()
    expect(screen.getByRole('tabpanel', { name: 'Анализ шва' })).toBeVisible()
    expect(document.title).toBe('Анализ шва — Weld Assistant')

    window.history.back()

    await waitFor(() => expect(screen.getByRole('tab', { name: 'Помощник' })).toHaveAttribute('aria-selected', 'true'))
    expect(window.location.pathname).toBe('/chat')
    expect(screen.getByRole('textbox', { name: 'Ваш вопрос' })).toBeVisible()
  })

  it('opens the analyzer directly at /analyze', async () => {
    await renderApp('/analyze')

    expect(await screen.findByRole('button', { name: 'Выбрать фото' })).toBeInTheDocument()
    expect(screen.getByRole('tab', { name: 'Анализ шва' })).toHaveAttribute('aria-selected', 'true')
  })

  it('moves between tabs with the arrow keys', async () => {
    const { user } = await renderApp('/chat')
    const chatTab = screen.getByRole('tab', { name: 'Помощник' })
    expect(chatTab).toHaveAttribute('tabindex', '0')
    expect(screen.getByRole('tab', { name: 'Анализ шва' })).toHaveAttribute('tabindex', '-1')

    chatTab.focus()
    await user.keyboard('{ArrowRight}')

    const analyzeTab = screen.getByRole('tab', { name: 'Анализ шва' })
    expect(analyzeTab).toHaveFocus()
    expect(analyzeTab).toHaveAttribute('aria-selected', 'true')
    expect(window.location.pathname).toBe('/analyze')
  })

  it('switches the language: texts, <html lang>, the stored choice and the language sent', async () => {
    let sentLanguage: unknown
    server.use(
      http.post('/api/chat/stream', async ({ request }) => {
        sentLanguage = ((await request.json()) as { language?: unknown }).language
        return streamReply('Use ', 'ER70S-6.')
      }),
    )
    const { user, unmount } = await renderApp('/')
    expect(document.documentElement.lang).toBe('ru')

    await user.click(screen.getByRole('button', { name: 'EN' }))

    expect(document.documentElement.lang).toBe('en')
    expect(screen.getByRole('button', { name: 'EN' })).toHaveAttribute('aria-pressed', 'true')
    expect(screen.getByRole('tab', { name: 'Weld analysis' })).toBeInTheDocument()
    expect(localStorage.getItem(LANGUAGE_STORAGE_KEY)).toBe('en')

    await user.type(screen.getByRole('textbox', { name: 'Your question' }), 'Which wire?{Enter}')
    expect(await within(screen.getByRole('log')).findByText('Use ER70S-6.')).toBeInTheDocument()
    expect(sentLanguage).toBe('en')

    unmount()
    await renderApp('/')
    expect(screen.getByRole('tab', { name: 'Assistant' })).toBeInTheDocument()
    expect(document.documentElement.lang).toBe('en')
  })

  it('starts in English when the browser prefers English', async () => {
    vi.spyOn(navigator, 'languages', 'get').mockReturnValue(['en-US', 'ru'])

    await renderApp('/')

    expect(screen.getByRole('tab', { name: 'Assistant' })).toBeInTheDocument()
    expect(document.documentElement.lang).toBe('en')
  })
})
