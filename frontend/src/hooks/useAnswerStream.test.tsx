import { act, renderHook, waitFor } from '@testing-library/react'
import { http } from 'msw'
import { describe, expect, it } from 'vitest'
import { chatStream } from '../api/client'
import { controlledStream, errorReply, sseEvent } from '../test/handlers'
import { server } from '../test/server'
import { type AnswerEnd, type OpenStream, useAnswerStream } from './useAnswerStream'

/** A question sent through the real client to /api/chat/stream. */
const openChat: OpenStream<string> = (message, handlers, options) =>
  chatStream({ message, history: [], language: 'ru' }, handlers, options)

/** Answers each /api/chat/stream request with a stream the test writes, or with the next of `replies`. */
function streamServer(...replies: (() => Response)[]) {
  const streams: ReturnType<typeof controlledStream>[] = []
  const messages: string[] = []
  const signals: AbortSignal[] = []
  server.use(
    http.post('/api/chat/stream', async ({ request }) => {
      signals.push(request.signal)
      messages.push(((await request.json()) as { message: string }).message)
      const reply = replies[messages.length - 1]
      if (reply) return reply()
      const stream = controlledStream()
      streams.push(stream)
      return stream.response()
    }),
  )
  const stream = async (n: number) => {
    await waitFor(() => expect(streams.length).toBeGreaterThanOrEqual(n))
    const found = streams[n - 1]
    if (!found) throw new Error('no stream')
    return found
  }
  return { stream, messages, signals }
}

function renderStream() {
  const ends: AnswerEnd<string>[] = []
  const hook = renderHook(() => useAnswerStream(openChat, (end) => ends.push(end)))
  return { ...hook, ends }
}

describe('useAnswerStream', () => {
  it('goes idle → waiting → streaming → done and hands the whole answer to onEnd once', async () => {
    const { stream, messages } = streamServer()
    const { result, ends } = renderStream()
    expect(result.current.state).toEqual({ kind: 'idle' })
    expect(result.current.busy).toBe(false)

    act(() => result.current.start('Какой газ?'))
    expect(result.current.state).toEqual({ kind: 'waiting', request: 'Какой газ?' })
    expect(result.current.busy).toBe(true)

    const first = await stream(1)
    first.delta('Аргон')
    await waitFor(() => expect(result.current.state).toEqual({ kind: 'streaming', request: 'Какой газ?', text: 'Аргон' }))
    first.delta(' или смесь.')
    first.done()

    await waitFor(() => expect(result.current.state.kind).toBe('done'))
    expect(result.current.state).toEqual({ kind: 'done', request: 'Какой газ?', text: 'Аргон или смесь.' })
    expect(result.current.busy).toBe(false)
    expect(ends).toEqual([{ kind: 'done', request: 'Какой газ?', text: 'Аргон или смесь.' }])
    expect(messages).toEqual(['Какой газ?'])
  })

  it('Stop aborts the request and ends as stopped with what had arrived', async () => {
    const { stream, signals } = streamServer()
    const { result, ends } = renderStream()

    act(() => result.current.start('Вопрос'))
    const first = await stream(1)
    first.delta('Начало')
    await waitFor(() => expect(result.current.state.kind).toBe('streaming'))
    act(() => result.current.stop())

    await waitFor(() => expect(result.current.state.kind).toBe('stopped'))
    expect(result.current.state).toEqual({ kind: 'stopped', request: 'Вопрос', text: 'Начало' })
    expect(ends).toEqual([{ kind: 'stopped', request: 'Вопрос', text: 'Начало' }])
    await waitFor(() => expect(signals[0]?.aborted).toBe(true))
  })

  describe('waiting in the server\'s line', () => {
    it('keeps the last place while waiting; the first delta clears it, and a late waiting event is ignored', async () => {
      const { stream } = streamServer()
      const { result } = renderStream()

      act(() => result.current.start('Вопрос'))
      expect(result.current.queue).toBeNull()
      const first = await stream(1)
      first.send(sseEvent('waiting', { place: 3, estimateSeconds: 40 }))
      await waitFor(() => expect(result.current.queue).toEqual({ place: 3, estimateSeconds: 40 }))
      expect(result.current.state).toEqual({ kind: 'waiting', request: 'Вопрос', queue: { place: 3, estimateSeconds: 40 } })
      expect(result.current.busy).toBe(true)

      first.send(sseEvent('waiting', { place: 1, estimateSeconds: 5 }))
      await waitFor(() => expect(result.current.queue).toEqual({ place: 1, estimateSeconds: 5 }))

      first.delta('Ответ')
      await waitFor(() => expect(result.current.state).toEqual({ kind: 'streaming', request: 'Вопрос', text: 'Ответ' }))
      expect(result.current.queue).toBeNull()

      // Not part of the protocol after a delta: the wait is over for good.
      first.send(sseEvent('waiting', { place: 2, estimateSeconds: 9 }))
      first.delta('!')
      await waitFor(() => expect(result.current.state).toEqual({ kind: 'streaming', request: 'Вопрос', text: 'Ответ!' }))
      expect(result.current.queue).toBeNull()
      first.done()
      await waitFor(() => expect(result.current.state.kind).toBe('done'))
      expect(result.current.queue).toBeNull()
    })

    it('Stop while waiting in the line clears it, aborts the request and ends as stopped with no text', async () => {
      const { stream, signals } = streamServer()
      const { result, ends } = renderStream()

      act(() => result.current.start('Вопрос'))
      const first = await stream(1)
      first.send(sseEvent('waiting', { place: 2, estimateSeconds: 75 }))
      await waitFor(() => expect(result.current.queue).toEqual({ place: 2, estimateSeconds: 75 }))

      act(() => result.current.stop())
      await waitFor(() => expect(result.current.state.kind).toBe('stopped'))
      expect(result.current.queue).toBeNull()
      expect(result.current.busy).toBe(false)
      expect(ends).toEqual([{ kind: 'stopped', request: 'Вопрос', text: '' }])
      await waitFor(() => expect(signals[0]?.aborted).toBe(true))
    })

    it('an error event after waiting (the wait bound passed) fails with its code and clears the place', async () => {
      const { stream } = streamServer()
      const { result } = renderStream()

      act(() => result.current.start('Вопрос'))
      const first = await stream(1)
      first.send(sseEvent('waiting', { place: 1, estimateSeconds: 30 }))
      await waitFor(() => expect(result.current.queue).not.toBeNull())
      first.send(sseEvent('error', { error: 'quota', code: 'upstream_quota', retryAfterSeconds: 60 }))

      await waitFor(() => expect(result.current.state.kind).toBe('failed'))
      expect(result.current.queue).toBeNull()
      const failed = result.current.state
      if (failed.kind !== 'failed') throw new Error('not failed')
      expect(failed.error).toMatchObject({ code: 'upstream_quota', retryAfterSeconds: 60 })
      expect(failed.text).toBe('')
    })

    it('cancel while waiting in the line goes back to idle without a place', async () => {
      const { stream } = streamServer()
      const { result, ends } = renderStream()

      act(() => result.current.start('Вопрос'))
      const first = await stream(1)
      first.send(sseEvent('waiting', { place: 4, estimateSeconds: 100 }))
      await waitFor(() => expect(result.current.queue).not.toBeNull())
      act(() => result.current.cancel())
      expect(result.current.state).toEqual({ kind: 'idle' })
      expect(result.current.queue).toBeNull()
      expect(ends).toEqual([])
    })
  })

  it('an error event ends as failed with its code and the text so far; retry sends the same request again', async () => {
    const { stream, messages } = streamServer()
    const { result, ends } = renderStream()

    act(() => result.current.start('Поры?'))
    const first = await stream(1)
    first.delta('Причина — ')
    first.send(sseEvent('error', { error: 'Gemini is overloaded', code: 'upstream_unavailable', retryAfterSeconds: 30 }))

    await waitFor(() => expect(result.current.state.kind).toBe('failed'))
    const failed = result.current.state
    if (failed.kind !== 'failed') throw new Error('not failed')
    expect(failed.text).toBe('Причина — ')
    expect(failed.error).toMatchObject({ code: 'upstream_unavailable', retryAfterSeconds: 30 })
    expect(ends.map((end) => end.kind)).toEqual(['failed'])

    act(() => result.current.retry())
    expect(result.current.state).toEqual({ kind: 'waiting', request: 'Поры?' })
    const second = await stream(2)
    second.delta('влага.')
    second.done()

    await waitFor(() => expect(result.current.state).toEqual({ kind: 'done', request: 'Поры?', text: 'влага.' }))
    expect(messages).toEqual(['Поры?', 'Поры?'])
    expect(ends.map((end) => end.kind)).toEqual(['failed', 'done'])
  })

  it('a JSON error before the stream (408 request_timeout) fails with its status and code and no text', async () => {
    streamServer(() => errorReply(408, 'request_timeout', 'The request body did not arrive in time.'))
    const { result, ends } = renderStream()

    act(() => result.current.start('Фото'))

    await waitFor(() => expect(result.current.state.kind).toBe('failed'))
    const failed = result.current.state
    if (failed.kind !== 'failed') throw new Error('not failed')
    expect(failed.text).toBe('')
    expect(failed.error).toMatchObject({ status: 408, code: 'request_timeout' })
    expect(ends).toHaveLength(1)
  })

  it('retry does nothing unless the last request failed', async () => {
    const { stream, messages } = streamServer()
    const { result } = renderStream()

    act(() => result.current.retry())
    expect(result.current.state).toEqual({ kind: 'idle' })

    act(() => result.current.start('Раз'))
    const first = await stream(1)
    first.done()
    await waitFor(() => expect(result.current.state.kind).toBe('done'))
    act(() => result.current.retry())

    expect(result.current.state.kind).toBe('done')
    expect(messages).toEqual(['Раз'])
  })

  it('aborts the request in flight on unmount, without an end', async () => {
    const { stream, signals } = streamServer()
    const { result, unmount, ends } = renderStream()

    act(() => result.current.start('Вопрос'))
    const first = await stream(1)
    first.delta('Начало')
    unmount()

    await waitFor(() => expect(signals[0]?.aborted).toBe(true))
    expect(ends).toEqual([])
  })

  it('cancel drops the request and goes idle; a new start drops the one before it', async () => {
    const { stream, signals } = streamServer()
    const { result, ends } = renderStream()

    act(() => result.current.start('Первый'))
    await stream(1)
    act(() => result.current.cancel())
    expect(result.current.state).toEqual({ kind: 'idle' })
    await waitFor(() => expect(signals[0]?.aborted).toBe(true))

    act(() => result.current.start('Второй'))
    await stream(2)
    act(() => result.current.start('Третий'))
    const third = await stream(3)
    await waitFor(() => expect(signals[1]?.aborted).toBe(true))
    third.delta('Ответ на третий.')
    third.done()

    await waitFor(() => expect(result.current.state).toEqual({ kind: 'done', request: 'Третий', text: 'Ответ на третий.' }))
    expect(ends).toEqual([{ kind: 'done', request: 'Третий', text: 'Ответ на третий.' }])
  })
})
