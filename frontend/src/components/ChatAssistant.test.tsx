import { screen, waitFor, within } from '@testing-library/react'
import { http } from 'msw'
import { describe, expect, it } from 'vitest'
import { CHAT_STORAGE_KEY, type ChatMessage } from '../chat/conversation'
import { deferred, renderWithI18n } from '../test/render'
import { errorReply, generateReply } from '../test/handlers'
import { server } from '../test/server'
import { ChatAssistant } from './ChatAssistant'

interface SentChat {
  message: string
  history: { role: string; text: string }[]
  language: string
}

/** Answers /api/chat with the given replies in turn and records every request body. */
function recordChat(...replies: (() => Response)[]) {
  const sent: SentChat[] = []
  server.use(
    http.post('/api/chat', async ({ request }) => {
      sent.push((await request.json()) as SentChat)
      const reply = replies[Math.min(sent.length, replies.length) - 1]
      return reply ? reply() : generateReply('ok')
    }),
  )
  return sent
}

function renderChat() {
  const view = renderWithI18n(<ChatAssistant />)
  const input = screen.getByRole('textbox', { name: 'Ваш вопрос' })
  return { ...view, input, log: screen.getByRole('log') }
}

describe('ChatAssistant', () => {
  it('greets without sending anything and offers example questions', () => {
    const sent = recordChat()
    const { log } = renderChat()

    expect(within(log).getByText(/Я сварочный помощник/)).toBeInTheDocument()
    const examples = screen.getByRole('list', { name: 'Примеры вопросов' })
    expect(within(examples).getAllByRole('button').length).toBeGreaterThanOrEqual(3)
    expect(sent).toHaveLength(0)
  })

  it('sends the question and renders the Markdown answer as elements', async () => {
    const sent = recordChat(() =>
      generateReply('Для **09Г2С** подойдут:\n\n- УОНИ-13/55\n- ОК 46.00\n\n| Ø, мм | Ток, А |\n|---|---|\n| 3 | 90–120 |'),
    )
    const { user, input, log } = renderChat()

    await user.type(input, 'Какой электрод для 09Г2С?')
    await user.keyboard('{Enter}')

    const strong = await within(log).findByText('09Г2С', { selector: 'strong' })
    expect(strong.tagName).toBe('STRONG')
    const items = within(log).getAllByRole('listitem')
    expect(items.map((item) => item.textContent)).toEqual(['УОНИ-13/55', 'ОК 46.00'])
    expect(within(log).getByRole('table')).toBeInTheDocument()
    expect(within(log).getByText('Какой электрод для 09Г2С?')).toBeInTheDocument()
    expect(input).toHaveValue('')
    expect(sent).toEqual([{ message: 'Какой электрод для 09Г2С?', history: [], language: 'ru' }])
  })

  it('sends on Enter but not on Shift+Enter, which adds a new line', async () => {
    const sent = recordChat()
    const { user, input } = renderChat()

    await user.type(input, 'Первая строка')
    await user.keyboard('{Shift>}{Enter}{/Shift}')
    await user.type(input, 'вторая')

    expect(input).toHaveValue('Первая строка\nвторая')
    expect(sent).toHaveLength(0)

    await user.keyboard('{Enter}')

    await waitFor(() => expect(sent).toHaveLength(1))
    expect(sent[0]?.message).toBe('Первая строка\nвторая')
  })

  it('shows the thinking state while waiting for the answer', async () => {
    const gate = deferred()
    server.use(
      http.post('/api/chat', async () => {
        await gate.promise
        return generateReply('Готово.')
      }),
    )
    const { user, input, log } = renderChat()

    await user.type(input, 'Вопрос{Enter}')

    expect(await screen.findByRole('status')).toHaveTextContent('Помощник думает…')
    expect(screen.getByRole('button', { name: 'Отправить' })).toBeDisabled()

    gate.resolve()

    expect(await within(log).findByText('Готово.')).toBeInTheDocument()
    expect(screen.getByRole('status')).toHaveTextContent('')
  })

  it('sends earlier turns as {role, text} history, trimmed to the newest turns', async () => {
    const stored: ChatMessage[] = Array.from({ length: 30 }, (_, i) => ({
      id: `m${i}`,
      role: i % 2 === 0 ? 'user' : 'model',
      text: `turn ${i}`,
    }))
    localStorage.setItem(CHAT_STORAGE_KEY, JSON.stringify({ messages: stored }))
    const sent = recordChat()
    const { user, input } = renderChat()

    await user.type(input, 'Новый вопрос{Enter}')

    await waitFor(() => expect(sent).toHaveLength(1))
    const body = sent[0]
    expect(body?.message).toBe('Новый вопрос')
    expect(body?.history).toHaveLength(20)
    expect(body?.history[0]).toEqual({ role: 'user', text: 'turn 10' })
    expect(body?.history.at(-1)).toEqual({ role: 'model', text: 'turn 29' })
    for (const item of body?.history ?? []) expect(Object.keys(item).sort()).toEqual(['role', 'text'])
  })

  it('keeps the history within the character budget', async () => {
    const big = 'ш'.repeat(9_000)
    const stored: ChatMessage[] = Array.from({ length: 6 }, (_, i) => ({
      id: `m${i}`,
      role: i % 2 === 0 ? 'user' : 'model',
      text: `${i}${big}`,
    }))
    localStorage.setItem(CHAT_STORAGE_KEY, JSON.stringify({ messages: stored }))
    const sent = recordChat()
    const { user, input } = renderChat()

    await user.type(input, 'Коротко?{Enter}')

    await waitFor(() => expect(sent).toHaveLength(1))
    const history = sent[0]?.history ?? []
    expect(history.reduce((sum, item) => sum + item.text.length, 0)).toBeLessThanOrEqual(24_000)
    expect(history.map((item) => item.text[0])).toEqual(['4', '5'])
  })

  it('shows an error by its code in the UI language, and Retry resends the same message', async () => {
    const sent = recordChat(
      () => errorReply(429, 'rate_limited', 'Too many requests', 30),
      () => generateReply('Теперь получилось.'),
    )
    const { user, input, log } = renderChat()

    await user.type(input, 'Почему поры?{Enter}')

    const alert = await screen.findByRole('alert')
    expect(alert).toHaveTextContent('Слишком много запросов подряд. Повторите через 30 с.')

    await user.click(within(alert).getByRole('button', { name: 'Повторить' }))

    expect(await within(log).findByText('Теперь получилось.')).toBeInTheDocument()
    expect(screen.queryByRole('alert')).not.toBeInTheDocument()
    expect(sent).toHaveLength(2)
    expect(sent[1]).toEqual(sent[0])
    expect(within(log).getAllByText('Почему поры?')).toHaveLength(1)
  })

  it('explains a network failure', async () => {
    server.use(http.post('/api/chat', () => Response.error()))
    const { user, input } = renderChat()

    await user.type(input, 'Вопрос{Enter}')

    expect(await screen.findByRole('alert')).toHaveTextContent('Нет связи с сервером.')
  })

  it('clears the chat and forgets it', async () => {
    recordChat(() => generateReply('Ответ.'))
    const { user, input, log } = renderChat()
    await user.type(input, 'Вопрос{Enter}')
    await within(log).findByText('Ответ.')
    expect(localStorage.getItem(CHAT_STORAGE_KEY)).not.toBeNull()

    await user.click(screen.getByRole('button', { name: 'Очистить чат' }))

    expect(within(log).queryByText('Вопрос')).not.toBeInTheDocument()
    expect(within(log).queryByText('Ответ.')).not.toBeInTheDocument()
    expect(within(log).getByText(/Я сварочный помощник/)).toBeInTheDocument()
    expect(screen.getByRole('list', { name: 'Примеры вопросов' })).toBeInTheDocument()
    expect(localStorage.getItem(CHAT_STORAGE_KEY)).toBeNull()
  })

  it('keeps the conversation across a remount (page reload)', async () => {
    recordChat(() => generateReply('Аргон с 18 % CO₂.'))
    const first = renderChat()
    await first.user.type(first.input, 'Какой газ для MAG?{Enter}')
    await within(first.log).findByText('Аргон с 18 % CO₂.')

    first.unmount()
    const second = renderChat()

    expect(within(second.log).getByText('Какой газ для MAG?')).toBeInTheDocument()
    expect(await within(second.log).findByText('Аргон с 18 % CO₂.')).toBeInTheDocument()
    expect(screen.queryByRole('list', { name: 'Примеры вопросов' })).not.toBeInTheDocument()
  })

  it('sends an example question when its chip is pressed', async () => {
    const sent = recordChat()
    const { user } = renderChat()

    await user.click(screen.getByRole('button', { name: 'Почему в шве появляются поры?' }))

    await waitFor(() => expect(sent).toHaveLength(1))
    expect(sent[0]?.message).toBe('Почему в шве появляются поры?')
  })

  it('does not render raw HTML from the model as HTML', async () => {
    recordChat(() =>
      generateReply(
        'До <b>жирного</b> <img src="x" onerror="alert(1)"> <script>alert(2)</script> <a href="javascript:alert(3)">ссылка</a>\n\n[клик](javascript:alert(4))',
      ),
    )
    const { user, input, log } = renderChat()

    await user.type(input, 'HTML?{Enter}')

    const answer = await within(log).findByText(/<b>жирного<\/b>/)
    expect(answer).toHaveTextContent('<script>alert(2)</script>')
    expect(log.querySelector('b, img, script, iframe')).toBeNull()
    expect(within(log).queryByRole('link', { name: 'ссылка' })).not.toBeInTheDocument()
    expect(within(log).getByText('клик').closest('a')?.getAttribute('href') ?? '').not.toMatch(/^javascript:/i)
  })

  it('opens model links in a new tab without opener or referrer', async () => {
    recordChat(() => generateReply('См. [ГОСТ 5264](https://example.org/gost) и ![схема](https://example.org/a.png)'))
    const { user, input, log } = renderChat()

    await user.type(input, 'Ссылка?{Enter}')

    const link = await within(log).findByRole('link', { name: 'ГОСТ 5264' })
    expect(link).toHaveAttribute('target', '_blank')
    expect(link).toHaveAttribute('rel', 'noopener noreferrer nofollow')
    expect(log.querySelector('img')).toBeNull()
    expect(within(log).getByRole('link', { name: 'схема' })).toHaveAttribute('href', 'https://example.org/a.png')
  })
})
