import { fireEvent, screen, waitFor, within } from '@testing-library/react'
import { http } from 'msw'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { isoDate } from '../../lib/report'
import { deferred, MARKDOWN_WAIT, renderWithI18n } from '../../test/render'
import { controlledStream, errorReply, sseEvent, streamReply } from '../../test/handlers'
import { server } from '../../test/server'
import { ANALYSES_STORAGE_KEY, type SavedAnalysis } from './saved'
import WeldAnalyzer from './WeldAnalyzer'

interface SentAnalysis {
  image: File | null
  images: string[]
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
        images: form.getAll('image').map((part) => (part instanceof File ? part.name : part)),
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

/** "Ask about this analysis" is wired to the chat by the app shell (see app/App.test.tsx). */
const ignoreAsk = () => undefined

function renderAnalyzer() {
  return renderWithI18n(<WeldAnalyzer active onAsk={ignoreAsk} />)
}

async function choosePhoto(user: ReturnType<typeof renderAnalyzer>['user'], file = weldPhoto()) {
  await user.upload(screen.getByLabelText('Выбрать фото', { selector: 'input' }), file)
  return screen.findByRole('img', { name: 'Фото шва 1' })
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
    const report = await screen.findByRole('region', { name: 'Результат анализа' })
    expect(await within(report).findByText('Готово.')).toBeInTheDocument()
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
    expect(screen.getByRole('button', { name: 'Новый анализ' })).toBeInTheDocument()
    expect(screen.queryByRole('alert')).not.toBeInTheDocument()
  })

  it('shows the place in the line while the analysis waits for the quota, and Stop clears it', async () => {
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

    stream.send(sseEvent('waiting', { place: 3, estimateSeconds: 40 }))
    expect(await screen.findByText('В очереди: 3-й, около 40 с', { selector: '.thinking' })).toBeInTheDocument()
    expect(screen.queryByText('Анализирую фото…')).not.toBeInTheDocument()
    expect(screen.getByRole('status').querySelector('.visually-hidden')).toHaveTextContent('В очереди: 3-й, около 40 с')

    await user.click(screen.getByRole('button', { name: 'Остановить' }))

    await waitFor(() => expect(signals[0]?.aborted).toBe(true))
    expect(screen.queryByText(/В очереди/)).not.toBeInTheDocument()
    expect(await screen.findByRole('button', { name: 'Анализировать' })).toBeEnabled()
    expect(screen.queryByRole('alert')).not.toBeInTheDocument()
  })

  it('shows the place in the line in English, until the report starts', async () => {
    localStorage.setItem('weld-assistant.language', 'en')
    const stream = controlledStream()
    let requests = 0
    server.use(
      http.post('/api/analyze/stream', () => {
        requests += 1
        return stream.response()
      }),
    )
    const { user } = renderAnalyzer()
    await user.upload(screen.getByLabelText('Choose photos', { selector: 'input' }), weldPhoto())
    await screen.findByRole('img', { name: 'Weld photo 1' })
    await user.click(screen.getByRole('button', { name: 'Analyze' }))
    await waitFor(() => expect(requests).toBe(1))

    stream.send(sseEvent('waiting', { place: 1, estimateSeconds: 150 }))
    expect(await screen.findByText('Waiting: 1st, about 3 min', { selector: '.thinking' })).toBeInTheDocument()
    stream.delta('## Report')
    await screen.findByRole('region', { name: 'Analysis result' })
    expect(screen.queryByText(/Waiting:/)).not.toBeInTheDocument()
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
    await english.user.upload(screen.getByLabelText('Choose photos', { selector: 'input' }), weldPhoto())
    await screen.findByRole('img', { name: 'Weld photo 1' })
    await english.user.click(screen.getByRole('button', { name: 'Analyze' }))

    const englishAlert = await screen.findByRole('alert')
    expect(englishAlert).toHaveTextContent('for example, a photo over a weak connection')
    expect(englishAlert).toHaveTextContent('Check your connection and try again.')
  })

  it('starts over with "new analysis"', async () => {
    recordAnalyze()
    const { user } = renderAnalyzer()
    await choosePhoto(user)
    await user.type(screen.getByRole('textbox', { name: 'Заметка (необязательно)' }), 'MIG')
    await user.click(screen.getByRole('button', { name: 'Анализировать' }))
    await screen.findByRole('region', { name: 'Результат анализа' })

    await user.click(screen.getByRole('button', { name: 'Новый анализ' }))

    expect(screen.queryByRole('region', { name: 'Результат анализа' })).not.toBeInTheDocument()
    expect(screen.queryByRole('img', { name: 'Фото шва 1' })).not.toBeInTheDocument()
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

    expect(await screen.findByRole('img', { name: 'Фото шва 1' })).toBeInTheDocument()
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

    expect(await screen.findByRole('img', { name: 'Фото шва 1' })).toBeInTheDocument()
    expect(screen.getByText('pasted.jpg')).toBeInTheDocument()
    expect(paste.defaultPrevented).toBe(true)
  })

  it('refuses a file that is not an image without sending it', async () => {
    const sent = recordAnalyze()
    const { user } = renderWithI18n(<WeldAnalyzer active onAsk={ignoreAsk} />)

    fireEvent.drop(screen.getByRole('button', { name: 'Выбрать фото' }), {
      dataTransfer: { files: [new File(['%PDF'], 'report.pdf', { type: 'application/pdf' })], types: ['Files'] },
    })

    expect(await screen.findByRole('alert')).toHaveTextContent('Это не изображение.')
    expect(screen.getByRole('button', { name: 'Анализировать' })).toBeDisabled()
    await user.click(screen.getByRole('button', { name: 'Анализировать' }))
    expect(sent).toHaveLength(0)
  })
})


const VERDICT_REPORT = '## Дефекты\n\n- Подрез 0,5 мм.\n\n## Вердикт\n\n**Допустимо.** Подрез в пределах нормы.'

/** Makes URL.createObjectURL record the blobs it is given, and catches download clicks. */
function captureDownloads() {
  const blobs: Blob[] = []
  const names: string[] = []
  const create = vi.fn((blob: Blob) => {
    blobs.push(blob)
    return `blob:test/${blobs.length}`
  })
  Object.defineProperty(URL, 'createObjectURL', { configurable: true, writable: true, value: create })
  Object.defineProperty(URL, 'revokeObjectURL', { configurable: true, writable: true, value: vi.fn() })
  const click = vi.spyOn(HTMLAnchorElement.prototype, 'click').mockImplementation(function (this: HTMLAnchorElement) {
    names.push(this.download)
  })
  return { blobs, names, restore: () => click.mockRestore() }
}

function savedAnalysis(n: number, extra: Partial<SavedAnalysis> = {}): SavedAnalysis {
  return {
    id: `saved-${n}`,
    date: new Date(Date.UTC(2026, 0, 1 + n, 9, 0)).toISOString(),
    report: `## Отчёт ${n}\n\n## Вердикт\n\nТребует доработки.`,
    note: `заметка ${n}`,
    thumbnails: ['data:image/jpeg;base64,/9j/'],
    photoCount: 1,
    ...extra,
  }
}

describe('WeldAnalyzer: several photos', () => {
  it('takes several photos from the picker, shows each as a thumbnail, and sends them in order', async () => {
    const sent = recordAnalyze()
    const { user } = renderAnalyzer()
    const picker = screen.getByLabelText('Выбрать фото', { selector: 'input' })
    expect(picker).toHaveAttribute('multiple')

    await user.upload(picker, [weldPhoto('face.jpg'), weldPhoto('root.jpg'), weldPhoto('side.jpg')])

    expect(await screen.findByRole('img', { name: 'Фото шва 3' })).toBeInTheDocument()
    expect(screen.getByText('Фото шва: 3 из 4')).toBeInTheDocument()
    await user.click(screen.getByRole('button', { name: 'Убрать фото 2' }))
    expect(screen.queryByText('root.jpg')).not.toBeInTheDocument()
    expect(screen.getAllByRole('img', { name: /^Фото шва \d$/ })).toHaveLength(2)

    await user.click(screen.getByRole('button', { name: 'Анализировать' }))
    await screen.findByRole('region', { name: 'Результат анализа' })
    expect(sent).toHaveLength(1)
    expect(sent[0]?.images).toEqual(['face.jpg', 'side.jpg'])
  })

  it('keeps at most 4 photos, says so, and offers "add" again after one is removed', async () => {
    const { user } = renderAnalyzer()

    await user.upload(
      screen.getByLabelText('Выбрать фото', { selector: 'input' }),
      ['1.jpg', '2.jpg', '3.jpg', '4.jpg', '5.jpg'].map((name) => weldPhoto(name)),
    )

    expect(await screen.findByRole('img', { name: 'Фото шва 4' })).toBeInTheDocument()
    expect(screen.queryByText('5.jpg')).not.toBeInTheDocument()
    expect(screen.getByText('Можно не больше 4 фото одного шва — лишние не добавлены.')).toBeInTheDocument()
    expect(screen.queryByRole('button', { name: 'Добавить фото' })).not.toBeInTheDocument()

    await user.click(screen.getByRole('button', { name: 'Убрать фото 1' }))

    expect(screen.getByRole('button', { name: 'Добавить фото' })).toBeInTheDocument()
    expect(screen.queryByText(/Можно не больше/)).not.toBeInTheDocument()
    await user.upload(screen.getByLabelText('Выбрать фото', { selector: 'input' }), weldPhoto('6.jpg'))
    expect(await screen.findByText('6.jpg')).toBeInTheDocument()
    expect(screen.getAllByRole('img', { name: /^Фото шва \d$/ })).toHaveLength(4)
  })

  it('adds every image pasted at once to the photos already chosen', async () => {
    const { user } = renderAnalyzer()
    await choosePhoto(user, weldPhoto('first.jpg'))
    const paste = new Event('paste', { bubbles: true, cancelable: true })
    Object.defineProperty(paste, 'clipboardData', {
      value: { files: [weldPhoto('a.png', 'image/png'), new File(['x'], 'notes.txt', { type: 'text/plain' }), weldPhoto('b.jpg')] },
    })

    document.body.dispatchEvent(paste)

    expect(await screen.findByRole('img', { name: 'Фото шва 3' })).toBeInTheDocument()
    expect(screen.getByText('a.png')).toBeInTheDocument()
    expect(screen.getByText('b.jpg')).toBeInTheDocument()
    expect(screen.queryByText('notes.txt')).not.toBeInTheDocument()
  })
})

describe('WeldAnalyzer: reports people keep', () => {
  let downloads: ReturnType<typeof captureDownloads> | null = null
  afterEach(() => {
    downloads?.restore()
    downloads = null
  })

  async function finishAnalysis(user: ReturnType<typeof renderAnalyzer>['user'], note = 'MAG 6 мм') {
    await choosePhoto(user)
    await user.type(screen.getByRole('textbox', { name: 'Заметка (необязательно)' }), note)
    await user.click(screen.getByRole('button', { name: 'Анализировать' }))
    return screen.findByRole('group', { name: 'Сохранить или отправить' })
  }

  it('copies the analysis to the clipboard as Markdown', async () => {
    recordAnalyze(() => streamReply(VERDICT_REPORT))
    const { user } = renderAnalyzer()
    const actions = await finishAnalysis(user)
    const write = vi.spyOn(navigator.clipboard, 'writeText')

    await user.click(within(actions).getByRole('button', { name: 'Копировать' }))

    expect(await within(actions).findByRole('button', { name: 'Скопировано' })).toBeInTheDocument()
    expect(write).toHaveBeenCalledOnce()
    const copied = String(write.mock.calls[0]?.[0])
    expect(copied).toMatch(/^# Анализ сварного шва\n/)
    expect(copied).toContain('**Заметка:** MAG 6 мм')
    expect(copied).toContain(VERDICT_REPORT)
  })

  it('downloads the analysis as a .md named after the date and the verdict', async () => {
    recordAnalyze(() => streamReply(VERDICT_REPORT))
    downloads = captureDownloads()
    const { user } = renderAnalyzer()
    const actions = await finishAnalysis(user)

    await user.click(within(actions).getByRole('button', { name: 'Скачать .md' }))

    expect(downloads.names).toEqual([`weld-analysis-${isoDate(new Date())}-ok.md`])
    const blob = downloads.blobs.at(-1)
    expect(blob?.type).toBe('text/markdown;charset=utf-8')
    const text = await blob?.text()
    expect(text).toContain(VERDICT_REPORT)
    expect(text).toContain('фото: 1')
  })

  it('keeps a finished analysis on the device: listed after a reload, openable and deletable', async () => {
    recordAnalyze(() => streamReply(VERDICT_REPORT))
    const first = renderAnalyzer()
    await finishAnalysis(first.user, 'корень шва')
    const list = await screen.findByRole('region', { name: 'Сохранённые анализы' })
    expect(within(list).getAllByRole('listitem')).toHaveLength(1)
    first.unmount()

    const { user } = renderAnalyzer()
    const reloaded = screen.getByRole('region', { name: 'Сохранённые анализы' })
    const item = within(reloaded).getByRole('listitem')
    expect(item).toHaveTextContent('корень шва')
    expect(within(item).getByText('Допустимо')).toBeInTheDocument()

    // Named by what it shows: the date, the verdict and the note.
    expect(within(item).getByRole('button', { name: /^Открыть анализ от .+\. Допустимо\. корень шва$/ })).toBeInTheDocument()
    await user.click(within(item).getByRole('button', { name: /^Открыть анализ от / }))
    const opened = screen.getByRole('region', { name: /^Анализ от / })
    expect(await within(opened).findByRole('heading', { name: 'Вердикт' }, MARKDOWN_WAIT)).toBeInTheDocument()
    expect(within(opened).getByText('корень шва')).toBeInTheDocument()
    expect(within(opened).getByRole('button', { name: 'Задать вопрос по анализу' })).toBeInTheDocument()

    await user.click(within(item).getByRole('button', { name: /^Удалить анализ от / }))
    expect(screen.queryByRole('region', { name: 'Сохранённые анализы' })).not.toBeInTheDocument()
    expect(screen.queryByRole('region', { name: /^Анализ от / })).not.toBeInTheDocument()
    expect(localStorage.getItem(ANALYSES_STORAGE_KEY)).toBeNull()
  })

  it('keeps only the newest 20 analyses', async () => {
    localStorage.setItem(ANALYSES_STORAGE_KEY, JSON.stringify({ analyses: Array.from({ length: 20 }, (_, i) => savedAnalysis(20 - i)) }))
    recordAnalyze(() => streamReply(VERDICT_REPORT))
    const { user } = renderAnalyzer()
    expect(within(screen.getByRole('region', { name: 'Сохранённые анализы' })).getAllByRole('listitem')).toHaveLength(20)

    await finishAnalysis(user, 'двадцать первый')

    const items = within(screen.getByRole('region', { name: 'Сохранённые анализы' })).getAllByRole('listitem')
    expect(items).toHaveLength(20)
    expect(items[0]).toHaveTextContent('двадцать первый')
    expect(screen.queryByText('заметка 1')).not.toBeInTheDocument()
    const stored = JSON.parse(localStorage.getItem(ANALYSES_STORAGE_KEY) ?? '{}') as { analyses: SavedAnalysis[] }
    expect(stored.analyses.map((analysis) => analysis.note)).toEqual([
      'двадцать первый',
      ...Array.from({ length: 19 }, (_, i) => `заметка ${20 - i}`),
    ])
  })
})
