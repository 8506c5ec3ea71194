import { screen, waitFor, within } from '@testing-library/react'
import { describe, expect, it } from 'vitest'
import { LANGUAGE_STORAGE_KEY } from '../i18n/language'
import { errorReply, streamReply } from '../test/handlers'
import { renderWithI18n } from '../test/render'
import { sessionServer } from '../test/session'
import { App } from './App'

const CODE = 'svarka-2026'

function renderApp() {
  window.history.replaceState(null, '', '/')
  return renderWithI18n(<App />)
}

/** The chat's question box, once the views are shown. */
function findChatInput(name = 'Ваш вопрос') {
  return screen.findByRole('textbox', { name })
}

describe('sessions and the access code', () => {
  it('shows the code screen, not the views, when a code is required and there is no session', async () => {
    const calls = sessionServer({ accessCode: CODE }).calls
    renderApp()

    const input = await screen.findByLabelText('Код доступа')
    expect(input).toHaveAttribute('type', 'password')
    expect(input).toHaveAttribute('autocomplete', 'current-password')
    // Focus moves in an effect after the screen renders: wait for it.
    await waitFor(() => expect(input).toHaveFocus())
    expect(screen.getByRole('heading', { name: 'Вход по коду доступа' })).toBeInTheDocument()
    expect(screen.getByText(/Спросите код у того, кто дал вам ссылку/)).toBeInTheDocument()
    expect(screen.queryByRole('tab')).not.toBeInTheDocument()
    expect(screen.queryByRole('textbox', { name: 'Ваш вопрос' })).not.toBeInTheDocument()
    expect(screen.queryByRole('button', { name: 'Выйти' })).not.toBeInTheDocument()
    // No attempt without a code: it would only count against the attempt limit.
    expect(calls).toEqual(['GET /api/session'])
  })

  it('says "wrong code" in place for a wrong code, and keeps the screen', async () => {
    const calls = sessionServer({ accessCode: CODE }).calls
    const { user } = renderApp()

    await user.type(await screen.findByLabelText('Код доступа'), 'неверный{Enter}')

    expect(await screen.findByText('Неверный код. Проверьте его и попробуйте ещё раз.')).toHaveAttribute(
      'aria-live',
      'assertive',
    )
    const input = screen.getByLabelText('Код доступа')
    expect(input).toHaveAttribute('aria-invalid', 'true')
    expect(input).toHaveValue('')
    await waitFor(() => expect(input).toHaveFocus())
    expect(screen.queryByRole('tab')).not.toBeInTheDocument()
    expect(calls).toEqual(['GET /api/session', 'POST /api/session неверный'])
  })

  it('asks for a code instead of sending an empty one', async () => {
    const calls = sessionServer({ accessCode: CODE }).calls
    const { user } = renderApp()

    await user.click(await screen.findByRole('button', { name: 'Войти' }))

    expect(await screen.findByText('Введите код доступа.')).toBeInTheDocument()
    expect(calls).toEqual(['GET /api/session'])
  })

  it('tells how long to wait after too many attempts, in English too', async () => {
    localStorage.setItem(LANGUAGE_STORAGE_KEY, 'en')
    sessionServer({ accessCode: CODE, rateLimitSeconds: 42 })
    const { user } = renderApp()

    await user.type(await screen.findByLabelText('Access code'), `${CODE}{Enter}`)

    expect(await screen.findByText('Too many attempts. Wait 42 s and try again.')).toBeInTheDocument()
    expect(screen.getByText(/Ask the person who gave you the link/)).toBeInTheDocument()
    expect(screen.queryByRole('tab')).not.toBeInTheDocument()
  })

  it('shows the app after the right code, and the chat then works', async () => {
    const calls = sessionServer({ accessCode: CODE }).calls
    const { user } = renderApp()

    await user.type(await screen.findByLabelText('Код доступа'), CODE)
    await user.click(screen.getByRole('button', { name: 'Войти' }))

    const chatInput = await findChatInput()
    expect(screen.queryByLabelText('Код доступа')).not.toBeInTheDocument()
    expect(screen.getByRole('tab', { name: 'Помощник' })).toHaveAttribute('aria-selected', 'true')
    expect(screen.getByRole('button', { name: 'Выйти' })).toBeInTheDocument()

    await user.type(chatInput, 'Какой газ?{Enter}')
    expect(await within(screen.getByRole('log')).findByText('Ответ после входа.')).toBeInTheDocument()
    expect(calls).toEqual(['GET /api/session', `POST /api/session ${CODE}`, 'POST /api/chat/stream'])
  })

  it('starts a session silently when no code is required', async () => {
    const calls = sessionServer({ active: false }).calls
    renderApp()

    await findChatInput()
    expect(calls).toEqual(['GET /api/session', 'POST /api/session'])
    expect(screen.queryByLabelText('Код доступа')).not.toBeInTheDocument()
    // Nothing to sign out of without a code.
    expect(screen.queryByRole('button', { name: 'Выйти' })).not.toBeInTheDocument()
  })

  it('on 401 session_required starts a new session silently and sends the question once more', async () => {
    const server = sessionServer({ active: true })
    const { user } = renderApp()
    const input = await findChatInput()
    server.active = false // the session expired meanwhile

    await user.type(input, 'Почему поры?{Enter}')

    expect(await within(screen.getByRole('log')).findByText('Ответ после входа.')).toBeInTheDocument()
    expect(screen.queryByRole('alert')).not.toBeInTheDocument()
    expect(server.calls).toEqual(['GET /api/session', 'POST /api/chat/stream', 'POST /api/session', 'POST /api/chat/stream'])
    expect(within(screen.getByRole('log')).getAllByText('Почему поры?')).toHaveLength(1)
  })

  it('retries only once: a second session_required is shown as an error', async () => {
    const server = sessionServer({
      active: true,
      chatReply: () => errorReply(401, 'session_required', 'A session is required.'),
    })
    const { user } = renderApp()

    await user.type(await findChatInput(), 'Вопрос{Enter}')

    expect(await screen.findByRole('alert')).toHaveTextContent('Сессия не начата или истекла')
    expect(server.calls.filter((call) => call === 'POST /api/chat/stream')).toHaveLength(2)
    expect(server.calls.filter((call) => call === 'POST /api/session')).toHaveLength(1)
  })

  it('on 401 with a code required asks for the code, then sends the waiting question', async () => {
    const server = sessionServer({ accessCode: CODE, active: true, chatReply: () => streamReply('Арг', 'он.') })
    const { user } = renderApp()
    const input = await findChatInput()
    server.active = false

    await user.type(input, 'Какой газ для TIG?{Enter}')
    await user.type(await screen.findByLabelText('Код доступа'), `${CODE}{Enter}`)

    expect(await within(screen.getByRole('log')).findByText('Аргон.')).toBeVisible()
    expect(server.calls).toEqual([
      'GET /api/session',
      'POST /api/chat/stream',
      `POST /api/session ${CODE}`,
      'POST /api/chat/stream',
    ])
  })

  it('signs out: ends the session and shows the code screen again', async () => {
    const server = sessionServer({ accessCode: CODE, active: true })
    const { user } = renderApp()
    await findChatInput()

    await user.click(screen.getByRole('button', { name: 'Выйти' }))

    const field = await screen.findByLabelText('Код доступа')
    await waitFor(() => expect(field).toHaveFocus())
    expect(server.calls).toEqual(['GET /api/session', 'DELETE /api/session'])
    expect(server.active).toBe(false)
    expect(screen.queryByRole('tab')).not.toBeInTheDocument()
    expect(screen.queryByRole('button', { name: 'Выйти' })).not.toBeInTheDocument()

    await user.type(screen.getByLabelText('Код доступа'), `${CODE}{Enter}`)
    await waitFor(() => expect(screen.getByRole('button', { name: 'Выйти' })).toBeInTheDocument())
  })
})
