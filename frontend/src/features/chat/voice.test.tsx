import { screen, waitFor, within } from '@testing-library/react'
import { http } from 'msw'
import { beforeEach, describe, expect, it, vi } from 'vitest'
import { chatVoiceStream } from '../../api/client'
import { MARKDOWN_WAIT, renderWithI18n } from '../../test/render'
import { DONE, sseEvent, sseResponse } from '../../test/handlers'
import { server } from '../../test/server'
import { ChatAssistant } from './ChatAssistant'
import { downsample, encodeWav, RecorderError, type Recording, startRecording } from './recorder'
import { speakable } from './SpeakButton'

vi.mock('./recorder', async (original) => ({
  ...(await original<typeof import('./recorder')>()),
  startRecording: vi.fn(),
}))

const started = vi.mocked(startRecording)

/** A recorder that hands back a short WAV when stopped; `cancelled` counts cancels. */
function fakeRecorder(seconds = 1.2) {
  const state = { stopped: 0, cancelled: 0 }
  const samples = new Float32Array(Math.round(16_000 * seconds)).fill(0.25)
  const recording: Recording = {
    mimeType: 'audio/wav',
    data: new Blob([encodeWav(samples, 16_000)], { type: 'audio/wav' }),
    seconds,
  }
  started.mockResolvedValueOnce({
    stop: () => {
      state.stopped++
      return Promise.resolve(recording)
    },
    cancel: () => {
      state.cancelled++
    },
  })
  return state
}

interface SentVoice {
  audio: { mimeType: string; data: string }
  history: { role: string; text: string }[]
  language: string
}

function recordVoice(body: () => Response) {
  const sent: SentVoice[] = []
  server.use(
    http.post('/api/chat/voice/stream', async ({ request }) => {
      sent.push((await request.json()) as SentVoice)
      return body()
    }),
  )
  return sent
}

const transcriptAnswer = () =>
  sseResponse([
    sseEvent('transcript', { transcript: 'Какой ток для тройки?' }),
    sseEvent('delta', { text: 'Ставьте **80–110 А**.' }),
    sseEvent('done', DONE),
  ])

beforeEach(() => {
  started.mockReset()
})

describe('questions by voice', () => {
  it('records from the keyboard, sends the WAV and shows the transcript as the question, then the answer', async () => {
    const recorder = fakeRecorder()
    const sent = recordVoice(transcriptAnswer)
    const { user } = renderWithI18n(<ChatAssistant />)
    const mic = screen.getByRole('button', { name: 'Задать вопрос голосом' })

    mic.focus()
    await user.keyboard('{Enter}')
    expect(await screen.findByRole('timer')).toHaveTextContent('0:00 из 1:00')
    expect(screen.getByText('Нажмите микрофон ещё раз — отправится')).toBeInTheDocument()
    const stop = screen.getByRole('button', { name: 'Закончить запись и отправить' })
    expect(stop).toHaveFocus()
    await user.keyboard('{Enter}')

    const log = screen.getByRole('log')
    expect(await within(log).findByText('Какой ток для тройки?')).toBeInTheDocument()
    expect(within(log).getByRole('img', { name: 'Голосом' })).toBeInTheDocument()
    expect(await within(log).findByText('80–110 А', { selector: 'strong' }, MARKDOWN_WAIT)).toBeInTheDocument()
    expect(recorder.stopped).toBe(1)
    expect(sent).toHaveLength(1)
    expect(sent[0]?.audio.mimeType).toBe('audio/wav')
    expect(atob(sent[0]?.audio.data ?? '').slice(0, 4)).toBe('RIFF')
    expect(sent[0]?.language).toBe('ru')
    // The transcript is what later questions carry as history.
    await waitFor(() => expect(localStorage.getItem('weld-assistant.chat.v1')).toContain('Какой ток для тройки?'))
  })

  it('stops and sends by itself at the limit', async () => {
    const recorder = fakeRecorder()
    const sent = recordVoice(transcriptAnswer)
    const { user } = renderWithI18n(<ChatAssistant />)
    screen.getByRole('button', { name: 'Задать вопрос голосом' }).focus()
    await user.keyboard('{Enter}')
    await screen.findByRole('timer')
    const [maxSeconds, onLimit] = started.mock.calls[0] ?? []
    expect(maxSeconds).toBe(60)
    onLimit?.()
    expect(await screen.findByText('Какой ток для тройки?')).toBeInTheDocument()
    expect(recorder.stopped).toBe(1)
    expect(sent).toHaveLength(1)
  })

  it('names the question "by voice" when the answer comes without a transcript', async () => {
    fakeRecorder()
    recordVoice(() => sseResponse([sseEvent('delta', { text: 'Ставьте 90 А.' }), sseEvent('done', DONE)]))
    const { user } = renderWithI18n(<ChatAssistant />)
    screen.getByRole('button', { name: 'Задать вопрос голосом' }).focus()
    await user.keyboard('{Enter}')
    await screen.findByRole('timer')
    await user.keyboard('{Enter}')
    const log = screen.getByRole('log')
    expect(await within(log).findByText('Ставьте 90 А.', {}, MARKDOWN_WAIT)).toBeInTheDocument()
    expect(await within(log).findByText('Голосовой вопрос')).toBeInTheDocument()
    expect(within(log).queryByText('Голосовой вопрос…')).not.toBeInTheDocument()
  })

  it('cancels with Escape without sending anything', async () => {
    const recorder = fakeRecorder()
    const sent = recordVoice(transcriptAnswer)
    const { user } = renderWithI18n(<ChatAssistant />)
    screen.getByRole('button', { name: 'Задать вопрос голосом' }).focus()
    await user.keyboard('{Enter}')
    await screen.findByRole('timer')
    await user.keyboard('{Escape}')
    expect(screen.queryByRole('timer')).not.toBeInTheDocument()
    expect(recorder.cancelled).toBe(1)
    expect(sent).toHaveLength(0)
    expect(screen.getByRole('button', { name: 'Задать вопрос голосом' })).toHaveFocus()
  })

  it('says in words when the microphone is denied or absent', async () => {
    started.mockRejectedValueOnce(new RecorderError('denied', 'Permission denied'))
    const { user } = renderWithI18n(<ChatAssistant />)
    screen.getByRole('button', { name: 'Задать вопрос голосом' }).focus()
    await user.keyboard('{Enter}')
    expect(await screen.findByRole('alert')).toHaveTextContent('Нет доступа к микрофону')

    started.mockRejectedValueOnce(new RecorderError('no_device', 'Requested device not found'))
    await user.click(screen.getByRole('button', { name: 'Закрыть' }))
    screen.getByRole('button', { name: 'Задать вопрос голосом' }).focus()
    await user.keyboard('{Enter}')
    expect(await screen.findByRole('alert')).toHaveTextContent('Микрофон не найден')
  })

  it('drops a slip of the finger with a word why', async () => {
    fakeRecorder(0.1)
    const sent = recordVoice(transcriptAnswer)
    const { user } = renderWithI18n(<ChatAssistant />)
    screen.getByRole('button', { name: 'Задать вопрос голосом' }).focus()
    await user.keyboard('{Enter}')
    await screen.findByRole('timer')
    await user.keyboard('{Enter}')
    expect(await screen.findByRole('alert')).toHaveTextContent('Слишком коротко')
    expect(sent).toHaveLength(0)
  })
})

describe('the voice API client', () => {
  it('passes the transcript event on before the answer', async () => {
    recordVoice(transcriptAnswer)
    const seen: string[] = []
    const done = await chatVoiceStream(
      { audio: { mimeType: 'audio/wav', data: 'UklGRg==' } },
      { onTranscript: (t) => seen.push(`t:${t}`), onDelta: (d) => seen.push(`d:${d}`) },
    )
    expect(seen).toEqual(['t:Какой ток для тройки?', 'd:Ставьте **80–110 А**.'])
    expect(done.finishReason).toBe('STOP')
  })
})

describe('the recorder', () => {
  it('writes a 16-bit mono WAV header that states its length', () => {
    const wav = new DataView(encodeWav(new Float32Array(16_000), 16_000))
    const text = (at: number) => String.fromCharCode(...new Uint8Array(wav.buffer, at, 4))
    expect([text(0), text(8), text(12), text(36)]).toEqual(['RIFF', 'WAVE', 'fmt ', 'data'])
    expect(wav.getUint16(22, true)).toBe(1)
    expect(wav.getUint32(24, true)).toBe(16_000)
    expect(wav.getUint32(40, true) / wav.getUint32(28, true)).toBe(1)
  })

  it('downsamples 48 kHz to 16 kHz by averaging', () => {
    const input = Float32Array.from({ length: 48 }, (_, i) => (i % 3 === 0 ? 0.3 : 0))
    const out = downsample(input, 48_000, 16_000)
    expect(out).toHaveLength(16)
    expect(out[0]).toBeCloseTo(0.1)
  })
})

describe('read aloud', () => {
  it('reads the answer without its Markdown marks', () => {
    const text = speakable('## Ток\n\n- **80–110 А**\n- см. [ГОСТ](https://example.org)\n\n| a | b |')
    expect(text).not.toMatch(/[*#|[\]()]|https/)
    expect(text.replace(/\s+/g, ' ')).toBe('Ток 80–110 А см. ГОСТ a b')
  })
})
