import { fireEvent, screen, waitFor, within } from '@testing-library/react'
import { http } from 'msw'
import { describe, expect, it } from 'vitest'
import { deferred, MARKDOWN_WAIT, renderWithI18n } from '../test/render'
import { controlledStream, errorReply, sseEvent, streamReply } from '../test/handlers'
import { server } from '../test/server'
import WeldAnalyzer from './WeldAnalyzer'

interface SentAnalysis {
  image: File | null
  bytes: number[]
  note: FormDataEntryValue | null
  language: FormDataEntryValue | null
  contentType: string | null
}

function recordAnalyze(...replies: (() => Response)[]) {
  const sent: SentAnalysis[] = []
  server.use(
    http.post('/api/analyze/stream', async ({ request }) => {
      const contentType = request.headers.get('content-type')
      const form = await request.formData()
      const image = form.get('image')
      const file = image instanceof File ? image : null
      sent.push({
        image: file,
        bytes: file ? [...new Uint8Array(await file.arrayBuffer())] : [],
        note: form.get('note'),
        language: form.get('language'),
        contentType,
      })
      const reply = replies[Math.min(sent.length, replies.length) - 1]
      return reply ? reply() : streamReply('## Отчёт\n\n', '- Подрезов нет.')
    }),
  )
  return sent
}

/** Text as one streamed piece. */
const generateReply = (text: string) => streamReply(text)

function weldPhoto(name = 'weld.jpg', type = 'image/jpeg') {
  return new File([new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3])], name, { type })
}

function renderAnalyzer() {
  return renderWithI18n(<WeldAnalyzer active />)
}

async function choosePhoto(user: ReturnType<typeof renderAnalyzer>['user'], file = weldPhoto()) {
  await user.upload(screen.getByLabelText('Выбрать фото', { selector: 'input' }), file)
  return screen.findByRole('img', { name: 'Выбранное фото шва' })
}

describe('WeldAnalyzer', () => {
  it('offers a file picker and a camera input for images', () => {
    renderAnalyzer()

    const picker = screen.getByLabelText('Выбрать фото', { selector: 'input' })
    const camera = screen.getByLabelText('Снять камерой', { selector: 'input' })
    expect(picker).toHaveAttribute('accept', 'image/*')
    expect(picker).not.toHaveAttribute('capture')
    expect(camera).toHaveAttribute('accept', 'image/*')
    expect(camera).toHaveAttribute('capture', 'environment')
    expect(screen.getByRole('button', { name: 'Анализировать' })).toBeDisabled()
  })

  it('sends the photo and the note as multipart and renders the Markdown report', async () => {
    const sent = recordAnalyze()
    const { user } = renderAnalyzer()

    await choosePhoto(user)
    expect(screen.getByText(/отправится без изменений/)).toBeInTheDocument()
    await user.type(screen.getByRole('textbox', { name: 'Заметка (необязательно)' }), 'TIG, нержавейка 3 мм')
    await user.click(screen.getByRole('button', { name: 'Анализировать' }))

    const report = await screen.findByRole('region', { name: 'Результат анализа' })
    expect(await within(report).findByRole('heading', { name: 'Отчёт' }, MARKDOWN_WAIT)).toBeInTheDocument()
    expect(within(report).getByRole('listitem')).toHaveTextContent('Подрезов нет.')
    expect(sent).toHaveLength(1)
    expect(sent[0]?.contentType).toMatch(/^multipart\/form-data; boundary=/)
    expect(sent[0]?.image?.name).toBe('weld.jpg')
    expect(sent[0]?.image?.type).toBe('image/jpeg')
    expect(sent[0]?.bytes).toEqual([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3])
    expect(sent[0]?.note).toBe('TIG, нержавейка 3 мм')
    expect(sent[0]?.language).toBe('ru')
  })

  it('shows the thinking state and Stop while the photo is analyzed', async () => {
    const gate = deferred()
    server.use(
      http.post('/api/analyze/stream', async () => {
        await gate.promise
        return generateReply('Готово.')
      }),
    )
    const { user } = renderAnalyzer()
    await choosePhoto(user)

    await user.click(screen.getByRole('button', { name: 'Анализировать' }))

    expect(await screen.findByRole('status')).toHaveTextContent('Анализирую фото…')
    expect(screen.queryByRole('button', { name: 'Анализировать' })).not.toBeInTheDocument()
    expect(screen.getByRole('button', { name: 'Остановить' })).toBeEnabled()
    gate.resolve()
    expect(await screen.findByText('Готово.')).toBeInTheDocument()
    expect(screen.queryByRole('button', { name: 'Остановить' })).not.toBeInTheDocument()
  })

  it('renders the report as it streams in, and Stop keeps what arrived', async () => {
    const stream = controlledStream()
    const signals: AbortSignal[] = []
    server.use(
      http.post('/api/analyze/stream', ({ request }) => {
        signals.push(request.signal)
        return stream.response()
      }),
    )
    const { user } = renderAnalyzer()
    await choosePhoto(user)
    await user.click(screen.getByRole('button', { name: 'Анализировать' }))
    await waitFor(() => expect(signals).toHaveLength(1))

    stream.delta('## Оценка\n\nШов **ровный**')
    const report = await screen.findByRole('region', { name: 'Результат анализа' })
    expect(await within(report).findByText('ровный', { selector: 'strong' }, MARKDOWN_WAIT)).toBeInTheDocument()
    expect(screen.getByRole('status')).toHaveTextContent('')
    expect(screen.getByRole('button', { name: 'Остановить' })).toBeInTheDocument()

    await user.click(screen.getByRole('button', { name: 'Остановить' }))

    await waitFor(() => expect(signals[0]?.aborted).toBe(true))
    expect(within(report).getByText('ровный', { selector: 'strong' })).toBeInTheDocument()
    expect(within(report).getByText('Ответ остановлен — показано то, что успело прийти.')).toBeInTheDocument()
    expect(screen.queryByRole('button', { name: 'Остановить' })).not.toBeInTheDocument()
    expect(screen.getByRole('button', { name: 'Анализировать другое фото' })).toBeInTheDocument()
    expect(screen.queryByRole('alert')).not.toBeInTheDocument()
  })

  it('an error event mid-report keeps the text, and Retry replaces it with the full report', async () => {
    const first = controlledStream()
    const sent = recordAnalyze(
      () => first.response(),
      () => streamReply('## Отчёт\n\n', '**Подрез** 0,5 мм.'),
    )
    const { user } = renderAnalyzer()
    await choosePhoto(user)
    await user.click(screen.getByRole('button', { name: 'Анализировать' }))
    await waitFor(() => expect(sent).toHaveLength(1))

    first.delta('Шов с **подрезом**')
    const report = await screen.findByRole('region', { name: 'Результат анализа' })
    await within(report).findByText('подрезом', { selector: 'strong' }, MARKDOWN_WAIT)
    first.send(sseEvent('error', { error: 'timeout', code: 'upstream_timeout' }))
    first.close()

    const alert = await screen.findByRole('alert')
    expect(alert).toHaveTextContent('Сервис ИИ не успел ответить.')
    expect(within(report).getByText('подрезом', { selector: 'strong' })).toBeInTheDocument()
    expect(within(report).getByText('Ответ оборвался — показано то, что успело прийти.')).toBeInTheDocument()

    await user.click(within(alert).getByRole('button', { name: 'Повторить' }))

    expect(await screen.findByText('Подрез', { selector: 'strong' }, MARKDOWN_WAIT)).toBeInTheDocument()
    expect(screen.queryByText('подрезом', { selector: 'strong' })).not.toBeInTheDocument()
    expect(screen.queryByText(/Ответ оборвался/)).not.toBeInTheDocument()
    expect(screen.queryByRole('alert')).not.toBeInTheDocument()
    expect(sent).toHaveLength(2)
    expect(sent[1]?.bytes).toEqual(sent[0]?.bytes)
  })

  it('shows an error by its code and Retry sends the photo again', async () => {
    const sent = recordAnalyze(
      () => errorReply(502, 'upstream_region', 'User location is not supported'),
      () => generateReply('**Непровар** в корне шва.'),
    )
    const { user } = renderAnalyzer()
    await choosePhoto(user)
    await user.type(screen.getByRole('textbox', { name: 'Заметка (необязательно)' }), 'MMA')
    await user.click(screen.getByRole('button', { name: 'Анализировать' }))

    const alert = await screen.findByRole('alert')
    expect(alert).toHaveTextContent('Сервис ИИ не работает из страны, где стоит сервер.')

    await user.click(within(alert).getByRole('button', { name: 'Повторить' }))

    expect(await screen.findByText('Непровар', { selector: 'strong' }, MARKDOWN_WAIT)).toBeInTheDocument()
    expect(screen.queryByRole('alert')).not.toBeInTheDocument()
    expect(sent).toHaveLength(2)
    expect(sent[1]?.bytes).toEqual(sent[0]?.bytes)
    expect(sent[1]?.note).toBe('MMA')
  })

  it('explains a photo upload that took too long (408 request_timeout), in Russian and in English', async () => {
    recordAnalyze(() => errorReply(408, 'request_timeout', 'The request body did not arrive in time.'))
    const { user, unmount } = renderAnalyzer()
    await choosePhoto(user)
    await user.click(screen.getByRole('button', { name: 'Анализировать' }))

    const alert = await screen.findByRole('alert')
    expect(alert).toHaveTextContent('например, фото при слабой связи')
    expect(alert).not.toHaveTextContent('Что-то пошло не так')
    unmount()

    localStorage.setItem('weld-assistant.language', 'en')
    const english = renderAnalyzer()
    await english.user.upload(screen.getByLabelText('Choose photo', { selector: 'input' }), weldPhoto())
    await screen.findByRole('img', { name: 'Selected weld photo' })
    await english.user.click(screen.getByRole('button', { name: 'Analyze' }))

    const englishAlert = await screen.findByRole('alert')
    expect(englishAlert).toHaveTextContent('for example, a photo over a weak connection')
    expect(englishAlert).toHaveTextContent('Check your connection and try again.')
  })

  it('starts over with "analyze another photo"', async () => {
    recordAnalyze()
    const { user } = renderAnalyzer()
    await choosePhoto(user)
    await user.type(screen.getByRole('textbox', { name: 'Заметка (необязательно)' }), 'MIG')
    await user.click(screen.getByRole('button', { name: 'Анализировать' }))
    await screen.findByRole('region', { name: 'Результат анализа' })

    await user.click(screen.getByRole('button', { name: 'Анализировать другое фото' }))

    expect(screen.queryByRole('region', { name: 'Результат анализа' })).not.toBeInTheDocument()
    expect(screen.queryByRole('img', { name: 'Выбранное фото шва' })).not.toBeInTheDocument()
    expect(screen.getByRole('textbox', { name: 'Заметка (необязательно)' })).toHaveValue('')
    expect(screen.getByRole('button', { name: 'Выбрать фото' })).toHaveFocus()
  })

  it('takes a photo dropped onto the view', async () => {
    const sent = recordAnalyze()
    const { user } = renderAnalyzer()
    const file = weldPhoto('dropped.png', 'image/png')

    fireEvent.drop(screen.getByRole('button', { name: 'Выбрать фото' }), {
      dataTransfer: { files: [file], types: ['Files'] },
    })

    expect(await screen.findByRole('img', { name: 'Выбранное фото шва' })).toBeInTheDocument()
    await user.click(screen.getByRole('button', { name: 'Анализировать' }))
    await waitFor(() => expect(sent).toHaveLength(1))
    expect(sent[0]?.image?.name).toBe('dropped.png')
  })

  it('takes a photo dropped elsewhere on the page instead of letting the browser open it', async () => {
    renderAnalyzer()
    const drop = new Event('drop', { bubbles: true, cancelable: true })
    Object.defineProperty(drop, 'dataTransfer', {
      value: { types: ['Files'], files: [weldPhoto('outside.jpg')] },
    })

    document.body.dispatchEvent(drop)

    expect(drop.defaultPrevented).toBe(true)
    expect(await screen.findByText('outside.jpg')).toBeInTheDocument()
  })

  it('takes a photo pasted with Ctrl+V', async () => {
    renderAnalyzer()
    const paste = new Event('paste', { bubbles: true, cancelable: true })
    Object.defineProperty(paste, 'clipboardData', { value: { files: [weldPhoto('pasted.jpg')] } })

    document.body.dispatchEvent(paste)

    expect(await screen.findByRole('img', { name: 'Выбранное фото шва' })).toBeInTheDocument()
    expect(screen.getByText('pasted.jpg')).toBeInTheDocument()
    expect(paste.defaultPrevented).toBe(true)
  })

  it('refuses a file that is not an image without sending it', async () => {
    const sent = recordAnalyze()
    const { user } = renderWithI18n(<WeldAnalyzer active />)

    fireEvent.drop(screen.getByRole('button', { name: 'Выбрать фото' }), {
      dataTransfer: { files: [new File(['%PDF'], 'report.pdf', { type: 'application/pdf' })], types: ['Files'] },
    })

    expect(await screen.findByRole('alert')).toHaveTextContent('Это не изображение.')
    expect(screen.getByRole('button', { name: 'Анализировать' })).toBeDisabled()
    await user.click(screen.getByRole('button', { name: 'Анализировать' }))
    expect(sent).toHaveLength(0)
  })
})
