import { screen, waitFor, within } from '@testing-library/react'
import { http } from 'msw'
import { describe, expect, it, vi } from 'vitest'
import { CHAT_STORAGE_KEY } from '../features/chat/conversation'
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

  it('"ask about this analysis" brings the report into the chat and opens it', async () => {
    const report = '## Дефекты\n\n- Подрез 0,5 мм.\n\n## Вердикт\n\n**Допустимо.** Подрез в пределах нормы.'
    server.use(http.post('/api/analyze/stream', () => streamReply(report)))
    const { user } = await renderApp('/analyze')
    const photo = new File([new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3])], 'weld.jpg', { type: 'image/jpeg' })
    await user.upload(await screen.findByLabelText('Выбрать фото', { selector: 'input' }), photo)
    await screen.findByRole('img', { name: 'Фото шва 1' })
    await user.type(screen.getByRole('textbox', { name: 'Заметка (необязательно)' }), 'TIG 3 мм')
    await user.click(screen.getByRole('button', { name: 'Анализировать' }))
    const actions = await screen.findByRole('group', { name: 'Сохранить или отправить' })

    await user.click(within(actions).getByRole('button', { name: 'Задать вопрос по анализу' }))

    expect(window.location.pathname).toBe('/chat')
    expect(screen.getByRole('tab', { name: 'Помощник' })).toHaveAttribute('aria-selected', 'true')
    expect(await within(screen.getByRole('log')).findByText(/^Вопросы по анализу от /)).toBeVisible()
    const stored = JSON.parse(localStorage.getItem(CHAT_STORAGE_KEY) ?? '{}') as {
      messages: { role: string; text: string; analysis?: { note: string } }[]
    }
    expect(stored.messages).toHaveLength(1)
    expect(stored.messages[0]).toMatchObject({ role: 'user', text: report, analysis: { note: 'TIG 3 мм' } })
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
