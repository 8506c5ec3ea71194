import { act, screen, waitFor, within } from '@testing-library/react'
import { http } from 'msw'
import { describe, expect, it, vi } from 'vitest'
import { isoDate } from '../../lib/report'
import { deferred, MARKDOWN_WAIT, renderWithI18n } from '../../test/render'
import { controlledStream, errorReply, sseEvent, streamReply } from '../../test/handlers'
import { server } from '../../test/server'
import { ChatAssistant } from './ChatAssistant'
import { attachAnalysis, CHAT_STORAGE_KEY, type ChatMessage } from './conversation'

interface SentChat {
  message: string
  history: { role: string; text: string }[]
  language: string
}

/** Answers /api/chat/stream with the given replies in turn and records every request body. */
function recordChat(...replies: (() => Response)[]) {
  const sent: SentChat[] = []
  server.use(
    http.post('/api/chat/stream', async ({ request }) => {
      sent.push((await request.json()) as SentChat)
      const reply = replies[Math.min(sent.length, replies.length) - 1]
      return reply ? reply() : streamReply('ok')
    }),
  )
  return sent
}

/** Text as one streamed piece. */
const generateReply = (text: string) => streamReply(text)

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

  it('has the text box, the microphone and Send in that order in the composer, and a hidden heading', () => {
    recordChat()
    renderChat()
    const composer = screen.getByRole('textbox', { name: 'Ваш вопрос' }).closest('form')
    const controls = [...(composer?.querySelectorAll('textarea, button') ?? [])]
    expect(controls.map((control) => control.className.split(' ')[0])).toEqual(['composer-input', 'mic-button', 'send-button'])
    expect(screen.getByRole('button', { name: 'Задать вопрос голосом' })).toBeEnabled()
    expect(screen.getByRole('heading', { level: 2, name: 'Помощник' })).toBeInTheDocument()
    expect(screen.getByRole('log')).toHaveAttribute('aria-live', 'off')
  })

  it('sends the question and renders the Markdown answer as elements', async () => {
    const sent = recordChat(() =>
      generateReply('Для **09Г2С** подойдут:\n\n- УОНИ-13/55\n- ОК 46.00\n\n| Ø, мм | Ток, А |\n|---|---|\n| 3 | 90–120 |'),
    )
    const { user, input, log } = renderChat()

    await user.type(input, 'Какой электрод для 09Г2С?')
    await user.keyboard('{Enter}')

    const strong = await within(log).findByText('09Г2С', { selector: 'strong' }, MARKDOWN_WAIT)
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

  it('shows the thinking state and Stop instead of Send while waiting for the answer', async () => {
    const gate = deferred()
    server.use(
      http.post('/api/chat/stream', async () => {
        await gate.promise
        return generateReply('Готово.')
      }),
    )
    const { user, input, log } = renderChat()

    await user.type(input, 'Вопрос{Enter}')

    expect(await screen.findByRole('status')).toHaveTextContent('Помощник думает…')
    expect(screen.queryByRole('button', { name: 'Отправить' })).not.toBeInTheDocument()
    expect(screen.getByRole('button', { name: 'Остановить' })).toBeEnabled()

    gate.resolve()

    expect(await within(log).findByText('Готово.')).toBeInTheDocument()
    // One short status for the finished answer; the log itself is not a live region.
    expect(screen.getByRole('status')).toHaveTextContent(/^Помощник ответил\.$/)
    expect(log).toHaveAttribute('aria-live', 'off')
    expect(screen.getByRole('button', { name: 'Отправить' })).toBeInTheDocument()
    expect(screen.queryByRole('button', { name: 'Остановить' })).not.toBeInTheDocument()
  })

  it('moves focus from Send to Stop, then to the answer, when the button that had it goes away', async () => {
    const gate = deferred()
    server.use(
      http.post('/api/chat/stream', async () => {
        await gate.promise
        return streamReply('Ответ готов.')
      }),
    )
    const { user, input, log } = renderChat()
    await user.type(input, 'Вопрос')
    await user.click(screen.getByRole('button', { name: 'Отправить' }))

    await waitFor(() => expect(screen.getByRole('button', { name: 'Остановить' })).toHaveFocus())
    gate.resolve()

    const answer = await within(log).findByText('Ответ готов.')
    await waitFor(() => expect(answer.closest('.message')).toHaveFocus())
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
    server.use(http.post('/api/chat/stream', () => Response.error()))
    const { user, input } = renderChat()

    await user.type(input, 'Вопрос{Enter}')

    expect(await screen.findByRole('alert')).toHaveTextContent('Нет связи с сервером.')
  })

  it('explains a 408 request_timeout by its own message, not a generic one', async () => {
    recordChat(() => errorReply(408, 'request_timeout', 'The request body did not arrive in time.'))
    const { user, input } = renderChat()

    await user.type(input, 'Вопрос{Enter}')

    const alert = await screen.findByRole('alert')
    expect(alert).toHaveTextContent('Запрос отправлялся слишком долго')
    expect(alert).toHaveTextContent('Проверьте подключение и попробуйте ещё раз.')
    expect(alert).not.toHaveTextContent('Что-то пошло не так')
    expect(within(alert).getByRole('button', { name: 'Повторить' })).toBeInTheDocument()
  })

  it('explains a 408 request_timeout in English when the UI is English', async () => {
    localStorage.setItem('weld-assistant.language', 'en')
    recordChat(() => errorReply(408, 'request_timeout', 'Запрос не успел прийти.'))
    const { user } = renderWithI18n(<ChatAssistant />)

    await user.type(screen.getByRole('textbox', { name: 'Your question' }), 'Question{Enter}')

    const alert = await screen.findByRole('alert')
    expect(alert).toHaveTextContent('Sending took too long')
    expect(alert).toHaveTextContent('Check your connection and try again.')
    expect(alert).not.toHaveTextContent('Запрос не успел прийти.')
  })

  it('explains 405 method_not_allowed and 503 limits_unavailable by their own messages', async () => {
    recordChat(
      () => errorReply(405, 'method_not_allowed', 'Method not allowed.'),
      () => errorReply(503, 'limits_unavailable', 'The limit store is unavailable.'),
    )
    const { user, input } = renderChat()

    await user.type(input, 'Раз{Enter}')
    const alert = await screen.findByRole('alert')
    expect(alert).toHaveTextContent('Сервер не принимает такой запрос по этому адресу.')

    await user.click(within(alert).getByRole('button', { name: 'Повторить' }))
    await waitFor(() => expect(screen.getByRole('alert')).toHaveTextContent('не может проверить лимиты запросов'))
  })

  it('shows the server\'s own text for an error code this app does not know', async () => {
    recordChat(() => errorReply(503, 'brand_new_code', 'Сервис на обслуживании до 15:00.'))
    const { user, input } = renderChat()

    await user.type(input, 'Вопрос{Enter}')

    const alert = await screen.findByRole('alert')
    expect(alert).toHaveTextContent('Сервис на обслуживании до 15:00.')
    expect(alert).not.toHaveTextContent('Что-то пошло не так')
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

  describe('streaming', () => {
    /** Answers the next chat request with a stream the test writes; records the bodies. */
    function streamChat() {
      const streams: ReturnType<typeof controlledStream>[] = []
      const sent: SentChat[] = []
      const signals: AbortSignal[] = []
      server.use(
        http.post('/api/chat/stream', async ({ request }) => {
          signals.push(request.signal)
          sent.push((await request.json()) as SentChat)
          const stream = controlledStream()
          streams.push(stream)
          return stream.response()
        }),
      )
      const current = async (n = 1) => {
        await waitFor(() => expect(streams).toHaveLength(n))
        const stream = streams[n - 1]
        if (!stream) throw new Error('no stream')
        return stream
      }
      return { sent, current, signals }
    }

    it('renders the answer as it arrives, before the stream is done, and keeps the Markdown', async () => {
      const { current } = streamChat()
      const { user, input, log } = renderChat()
      await user.type(input, 'Какой электрод?{Enter}')
      const stream = await current()

      stream.delta('Берите **УОНИ')
      expect(await within(log).findByText(/Берите/)).toBeInTheDocument()
      expect(screen.getByRole('status')).toHaveTextContent('')
      expect(screen.getByRole('button', { name: 'Остановить' })).toBeInTheDocument()
      expect(within(log).queryByText(/ОК 46/)).not.toBeInTheDocument()

      stream.delta('-13/55** или ОК 46.00.')
      expect(await within(log).findByText('УОНИ-13/55', { selector: 'strong' }, MARKDOWN_WAIT)).toBeInTheDocument()
      expect(within(log).getByText(/ОК 46\.00/)).toBeInTheDocument()
      expect(screen.getByRole('button', { name: 'Остановить' })).toBeInTheDocument()

      stream.done()
      expect(await screen.findByRole('button', { name: 'Отправить' })).toBeInTheDocument()
      expect(within(log).getAllByText(/УОНИ-13\/55/)).toHaveLength(1)
      const stored = JSON.parse(localStorage.getItem(CHAT_STORAGE_KEY) ?? '{}') as { messages: ChatMessage[] }
      expect(stored.messages.at(-1)).toMatchObject({ role: 'model', text: 'Берите **УОНИ-13/55** или ОК 46.00.' })
      expect(stored.messages.at(-1)?.incomplete).toBeUndefined()
    })

    it('Stop aborts the stream, keeps what arrived and brings Send back', async () => {
      const { current, signals } = streamChat()
      const { user, input, log } = renderChat()
      await user.type(input, 'Режимы TIG?{Enter}')
      const stream = await current()
      stream.delta('Ток 80–100 А')
      await within(log).findByText(/Ток 80–100 А/)
      expect(signals[0]?.aborted).toBe(false)

      await user.click(screen.getByRole('button', { name: 'Остановить' }))

      await waitFor(() => expect(signals[0]?.aborted).toBe(true))
      expect(await screen.findByRole('button', { name: 'Отправить' })).toBeInTheDocument()
      // Whatever the server still sends is not shown.
      try {
        stream.delta(', напряжение 12 В')
      } catch {
        // the body was cancelled: nothing more can arrive anyway
      }
      await new Promise((resolve) => setTimeout(resolve, 50))
      expect(within(log).queryByText(/напряжение/)).not.toBeInTheDocument()
      expect(within(log).getByText(/Ток 80–100 А/)).toBeInTheDocument()
      expect(within(log).getByText('Ответ остановлен — показано то, что успело прийти.')).toBeInTheDocument()
      expect(screen.queryByRole('alert')).not.toBeInTheDocument()
      expect(screen.getByRole('status')).toHaveTextContent('')
      const stored = JSON.parse(localStorage.getItem(CHAT_STORAGE_KEY) ?? '{}') as { messages: ChatMessage[] }
      expect(stored.messages.at(-1)).toMatchObject({ role: 'model', text: 'Ток 80–100 А', incomplete: 'stopped' })
    })

    it('an error event after some text keeps it, marks it incomplete, and Retry replaces it', async () => {
      const { current, sent } = streamChat()
      const { user, input, log } = renderChat()
      await user.type(input, 'Почему поры?{Enter}')
      const first = await current()
      first.delta('Поры бывают из-за влаги')
      await within(log).findByText(/из-за влаги/)
      first.send(sseEvent('error', { error: 'Gemini is overloaded', code: 'upstream_unavailable' }))
      first.close()

      const alert = await screen.findByRole('alert')
      expect(alert).toHaveTextContent('Сервис ИИ сейчас перегружен.')
      expect(within(log).getByText(/из-за влаги/)).toBeInTheDocument()
      expect(within(log).getByText('Ответ оборвался — показано то, что успело прийти.')).toBeInTheDocument()
      const stored = JSON.parse(localStorage.getItem(CHAT_STORAGE_KEY) ?? '{}') as { messages: ChatMessage[] }
      expect(stored.messages.at(-1)).toMatchObject({ text: 'Поры бывают из-за влаги', incomplete: 'failed' })

      await user.click(within(alert).getByRole('button', { name: 'Повторить' }))
      const second = await current(2)
      expect(sent[1]).toEqual(sent[0])
      expect(within(log).queryByText(/из-за влаги/)).not.toBeInTheDocument()
      second.delta('Главная причина — **влага** в электродах.')
      second.done()

      expect(await within(log).findByText('влага', { selector: 'strong' }, MARKDOWN_WAIT)).toBeInTheDocument()
      await waitFor(() => expect(screen.queryByRole('alert')).not.toBeInTheDocument())
      expect(within(log).queryByText(/Ответ оборвался/)).not.toBeInTheDocument()
      expect(within(log).getAllByText('Почему поры?')).toHaveLength(1)
      expect(log.querySelectorAll('.message-model')).toHaveLength(2)
    })

    it('a connection dropped mid-stream keeps the text and shows the network error with Retry', async () => {
      const { current } = streamChat()
      const { user, input, log } = renderChat()
      await user.type(input, 'Вопрос{Enter}')
      const stream = await current()
      stream.delta('Начало ответа')
      await within(log).findByText(/Начало ответа/)

      stream.fail()

      const alert = await screen.findByRole('alert')
      expect(alert).toHaveTextContent('Нет связи с сервером.')
      expect(within(alert).getByRole('button', { name: 'Повторить' })).toBeInTheDocument()
      expect(within(log).getByText(/Начало ответа/)).toBeInTheDocument()
      expect(within(log).getByText(/Ответ оборвался/)).toBeInTheDocument()
    })

    it('a JSON error before the stream (429) is shown as before, with no partial answer', async () => {
      recordChat(() => errorReply(429, 'rate_limited', 'Too many requests', 12))
      const { user, input, log } = renderChat()

      await user.type(input, 'Вопрос{Enter}')

      expect(await screen.findByRole('alert')).toHaveTextContent('Слишком много запросов подряд. Повторите через 12 с.')
      expect(log.querySelectorAll('.message-model')).toHaveLength(1)
      expect(within(log).queryByText(/Ответ оборвался/)).not.toBeInTheDocument()
    })

    /** What the live region says (the visible line is hidden from screen readers while waiting). */
    function announced() {
      return screen.getByRole('status').querySelector('.visually-hidden')?.textContent ?? null
    }

    it('shows the place in the line where "thinking" was, announces a new place only, and the first piece clears it', async () => {
      const { current } = streamChat()
      const { user, input, log } = renderChat()
      await user.type(input, 'Какой газ?{Enter}')
      const stream = await current()
      expect(screen.getByText('Помощник думает…')).toBeInTheDocument()

      stream.send(sseEvent('waiting', { place: 3, estimateSeconds: 40 }))
      expect(await screen.findByText('В очереди: 3-й, около 40 с', { selector: '.thinking' })).toBeInTheDocument()
      expect(screen.queryByText('Помощник думает…')).not.toBeInTheDocument()
      expect(announced()).toBe('В очереди: 3-й, около 40 с')
      expect(screen.getByRole('button', { name: 'Остановить' })).toBeInTheDocument()

      // A new estimate for the same place: shown, not announced again.
      stream.send(sseEvent('waiting', { place: 3, estimateSeconds: 35 }))
      expect(await screen.findByText('В очереди: 3-й, около 35 с', { selector: '.thinking' })).toBeInTheDocument()
      expect(announced()).toBe('В очереди: 3-й, около 40 с')

      // A new place: announced.
      stream.send(sseEvent('waiting', { place: 1, estimateSeconds: 120 }))
      expect(await screen.findByText('В очереди: 1-й, около 2 мин', { selector: '.thinking' })).toBeInTheDocument()
      expect(announced()).toBe('В очереди: 1-й, около 2 мин')

      stream.delta('Аргон.')
      expect(await within(log).findByText(/Аргон\./)).toBeInTheDocument()
      expect(screen.queryByText(/В очереди/)).not.toBeInTheDocument()
      expect(screen.getByRole('status')).toHaveTextContent('')
      stream.done()
      expect(await screen.findByRole('button', { name: 'Отправить' })).toBeInTheDocument()
    })

    it('Stop while waiting in the line aborts the request, clears the place and brings Send back', async () => {
      const { current, signals } = streamChat()
      const { user, input, log } = renderChat()
      await user.type(input, 'Режимы MIG?{Enter}')
      const stream = await current()
      stream.send(sseEvent('waiting', { place: 2, estimateSeconds: 0 }))
      expect(await screen.findByText('В очереди: 2-й, вот-вот', { selector: '.thinking' })).toBeInTheDocument()

      await user.click(screen.getByRole('button', { name: 'Остановить' }))

      await waitFor(() => expect(signals[0]?.aborted).toBe(true))
      expect(await screen.findByRole('button', { name: 'Отправить' })).toBeInTheDocument()
      expect(screen.queryByText(/В очереди/)).not.toBeInTheDocument()
      expect(screen.getByRole('status')).toHaveTextContent('')
      // Nothing had arrived: no partial answer, only the greeting.
      expect(within(log).queryByText('Ответ остановлен — показано то, что успело прийти.')).not.toBeInTheDocument()
      expect(input).toBeEnabled()
    })

    it('shows the place in the line in English', async () => {
      localStorage.setItem('weld-assistant.language', 'en')
      const { current } = streamChat()
      const { user } = renderWithI18n(<ChatAssistant />)
      await user.type(screen.getByRole('textbox', { name: 'Your question' }), 'Gas?{Enter}')
      const stream = await current()
      stream.send(sseEvent('waiting', { place: 22, estimateSeconds: 40 }))
      expect(await screen.findByText('Waiting: 22nd, about 40 s', { selector: '.thinking' })).toBeInTheDocument()
      expect(announced()).toBe('Waiting: 22nd, about 40 s')
    })

    it('shows the English texts for Stop and an incomplete answer', async () => {
      localStorage.setItem('weld-assistant.language', 'en')
      const { current } = streamChat()
      const { user } = renderWithI18n(<ChatAssistant />)
      await user.type(screen.getByRole('textbox', { name: 'Your question' }), 'Gas?{Enter}')
      const stream = await current()
      stream.delta('Argon')
      await screen.findByText(/Argon/)

      await user.click(screen.getByRole('button', { name: 'Stop' }))

      expect(await screen.findByText('Answer stopped — showing what had arrived.')).toBeInTheDocument()
      expect(screen.getByRole('button', { name: 'Send' })).toBeInTheDocument()
    })
  })
})

describe('ChatAssistant: an analysis as context', () => {
  const REPORT = '## Дефекты\n\n- Поры в корне.\n\n## Вердикт\n\nТребует доработки: поры.'
  const analysis = {
    id: 'a1',
    date: '2026-12-01T10:00:00.000Z',
    report: REPORT,
    note: 'MAG 6 мм',
    thumbnails: ['data:image/jpeg;base64,/9j/'],
    photoCount: 2,
  }

  it('shows a card for the analysis and sends its report first in the history, the question last', async () => {
    const sent = recordChat(() => generateReply('Уменьшите скорость.'))
    const { user, input, log } = renderChat()

    act(() => attachAnalysis(analysis))

    const card = await within(log).findByText(/^Вопросы по анализу от /)
    const cardBox = card.closest('.analysis-card') as HTMLElement
    expect(within(cardBox).getByRole('img', { name: 'Фото шва' })).toHaveAttribute('src', 'data:image/jpeg;base64,/9j/')
    expect(within(cardBox).getByText('Требует доработки')).toBeInTheDocument()
    expect(within(cardBox).getByText('MAG 6 мм')).toBeInTheDocument()

    await user.type(input, 'Как убрать эту пористость?{Enter}')

    await within(log).findByText('Уменьшите скорость.', undefined, MARKDOWN_WAIT)
    expect(sent).toHaveLength(1)
    expect(sent[0]?.message).toBe('Как убрать эту пористость?')
    expect(sent[0]?.history).toEqual([
      { role: 'user', text: `Вот анализ моего сварного шва:\n\n${REPORT}` },
      { role: 'model', text: 'Понял, это отчёт по вашему шву. Задавайте вопросы по нему.' },
    ])
  })

  it('keeps the analysis context after a reload', async () => {
    const sent = recordChat(
      () => generateReply('Первый ответ.'),
      () => generateReply('Второй ответ.'),
    )
    const first = renderChat()
    act(() => attachAnalysis(analysis))
    await first.user.type(first.input, 'Вопрос один{Enter}')
    await within(first.log).findByText('Первый ответ.', undefined, MARKDOWN_WAIT)
    first.unmount()

    const { user, input, log } = renderChat()
    expect(within(log).getByText(/^Вопросы по анализу от /)).toBeInTheDocument()
    await user.type(input, 'Вопрос два{Enter}')
    await within(log).findByText('Второй ответ.', undefined, MARKDOWN_WAIT)

    expect(sent[1]?.history).toEqual([
      { role: 'user', text: `Вот анализ моего сварного шва:\n\n${REPORT}` },
      { role: 'model', text: 'Понял, это отчёт по вашему шву. Задавайте вопросы по нему.' },
      { role: 'user', text: 'Вопрос один' },
      { role: 'model', text: 'Первый ответ.' },
    ])
    expect(sent[1]?.message).toBe('Вопрос два')
  })
})

describe('ChatAssistant: keeping an answer', () => {
  it('copies an answer as Markdown and downloads it as a .md', async () => {
    recordChat(() => generateReply('**УОНИ-13/55**, ток 80–110 А.'))
    const { user, input, log } = renderChat()
    await user.type(input, 'Электрод?{Enter}')
    await within(log).findByText('УОНИ-13/55', { selector: 'strong' }, MARKDOWN_WAIT)
    const actions = within(log).getByRole('group', { name: 'Ответ помощника: сохранить или скопировать' })
    const write = vi.spyOn(navigator.clipboard, 'writeText')

    await user.click(within(actions).getByRole('button', { name: 'Копировать' }))

    expect(write).toHaveBeenCalledWith('**УОНИ-13/55**, ток 80–110 А.')
    expect(await within(actions).findByRole('button', { name: 'Скопировано' })).toBeInTheDocument()

    const blobs: Blob[] = []
    Object.defineProperty(URL, 'createObjectURL', {
      configurable: true,
      writable: true,
      value: (blob: Blob) => {
        blobs.push(blob)
        return 'blob:test/1'
      },
    })
    Object.defineProperty(URL, 'revokeObjectURL', { configurable: true, writable: true, value: vi.fn() })
    const names: string[] = []
    const click = vi.spyOn(HTMLAnchorElement.prototype, 'click').mockImplementation(function (this: HTMLAnchorElement) {
      names.push(this.download)
    })
    try {
      await user.click(within(actions).getByRole('button', { name: 'Скачать .md' }))
    } finally {
      click.mockRestore()
    }
    expect(names).toEqual([`weld-answer-${isoDate(new Date())}.md`])
    expect(await blobs[0]?.text()).toBe('**УОНИ-13/55**, ток 80–110 А.')
  })
})
