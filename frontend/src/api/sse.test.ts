import { describe, expect, it } from 'vitest'
import { MAX_EVENT_CHARS, readSse, SseParser, type SseEvent } from './sse'

/** Feeds the pieces one by one and collects every event. */
function parse(...pieces: string[]): SseEvent[] {
  const parser = new SseParser()
  return [...pieces.flatMap((piece) => parser.push(piece)), ...parser.end()]
}

function body(...pieces: (string | Uint8Array)[]): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder()
  return new ReadableStream({
    start(controller) {
      for (const piece of pieces) controller.enqueue(typeof piece === 'string' ? encoder.encode(piece) : piece)
      controller.close()
    },
  })
}

async function collect(stream: ReadableStream<Uint8Array>, signal?: AbortSignal): Promise<SseEvent[]> {
  const events: SseEvent[] = []
  for await (const event of readSse(stream, signal)) events.push(event)
  return events
}

const STREAM = 'event: delta\ndata: {"text":"Привет"}\n\nevent: done\ndata: {"finishReason":"STOP"}\n\n'

describe('SseParser', () => {
  it('parses named events with their data', () => {
    expect(parse(STREAM)).toEqual([
      { event: 'delta', data: '{"text":"Привет"}' },
      { event: 'done', data: '{"finishReason":"STOP"}' },
    ])
  })

  it('gives the same events however the text is split, even inside a line', () => {
    const whole = parse(STREAM)
    for (let size = 1; size <= 7; size++) {
      const pieces = STREAM.match(new RegExp(`[\\s\\S]{1,${size}}`, 'g')) ?? []
      expect(parse(...pieces)).toEqual(whole)
    }
    expect(parse('event: del', 'ta\ndata: {"te', 'xt":"Привет"}\n', '\nevent: done\ndata: {"finishReason":"STOP"}\n\n')).toEqual(
      whole,
    )
  })

  it('accepts CRLF and bare CR line ends, also when a CRLF is split between pieces', () => {
    const crlf = STREAM.replaceAll('\n', '\r\n')
    expect(parse(crlf)).toEqual(parse(STREAM))
    expect(parse(STREAM.replaceAll('\n', '\r'))).toEqual(parse(STREAM))
    // "\r" ends one piece and "\n" starts the next: one line end, not two.
    expect(parse('data: a\r', '\ndata: b\r', '\n\r', '\n')).toEqual([{ event: 'message', data: 'a\nb' }])
  })

  it('parses the waiting events that come before the first delta, split anywhere', () => {
    const text =
      'event: waiting\ndata: {"place":3,"estimateSeconds":40}\n\n: keepalive\n\n' +
      'event: waiting\r\ndata: {"place":1,"estimateSeconds":0}\r\n\r\n' +
      'event: delta\ndata: {"text":"Ответ"}\n\n'
    const expected = [
      { event: 'waiting', data: '{"place":3,"estimateSeconds":40}' },
      { event: 'waiting', data: '{"place":1,"estimateSeconds":0}' },
      { event: 'delta', data: '{"text":"Ответ"}' },
    ]
    expect(parse(text)).toEqual(expected)
    expect(parse(...(text.match(/[\s\S]{1,5}/g) ?? []))).toEqual(expected)
  })

  it('ignores comment lines such as keepalives, and unknown fields', () => {
    expect(
      parse(': keepalive\n\n', 'event: delta\n: keepalive\nretry: 100\nfoo: bar\ndata: {"text":"x"}\n\n', ':\n\n'),
    ).toEqual([{ event: 'delta', data: '{"text":"x"}' }])
  })

  it('joins multi-line data with newlines and strips only one leading space', () => {
    expect(parse('data: first\ndata:second\ndata:  third\ndata\n\n')).toEqual([
      { event: 'message', data: 'first\nsecond\n third\n' },
    ])
  })

  it('needs the blank line: an event cut off at the end of the stream is dropped', () => {
    expect(parse('event: delta\ndata: {"text":"a"}\n\nevent: delta\ndata: {"text":"b"}\n')).toEqual([
      { event: 'delta', data: '{"text":"a"}' },
    ])
  })

  it('parses the server\'s own stream: keepalives between deltas, then an error event', () => {
    const wire =
      ': keepalive\r\n\r\n' +
      'event: delta\r\ndata: {"text":"Шов"}\r\n\r\n' +
      ': keepalive\r\n\r\n' +
      'event: error\r\ndata: {"error":"Gemini is overloaded","code":"upstream_unavailable","retryAfterSeconds":30}\r\n\r\n'
    const expected = [
      { event: 'delta', data: '{"text":"Шов"}' },
      { event: 'error', data: '{"error":"Gemini is overloaded","code":"upstream_unavailable","retryAfterSeconds":30}' },
    ]
    expect(parse(wire)).toEqual(expected)
    // One character at a time, so every CRLF is split once.
    expect(parse(...Array.from(wire))).toEqual(expected)
    expect(parse(...Array.from(wire.replaceAll('\r\n', '\n')))).toEqual(expected)
  })

  it('keeps the id of an event that names one', () => {
    expect(parse('id: 7\nevent: delta\ndata: {}\n\n')).toEqual([{ event: 'delta', data: '{}', id: '7' }])
  })

  it('refuses an event that never ends instead of buffering it without limit', () => {
    const parser = new SseParser()
    expect(parser.push('event: delta\ndata: ')).toEqual([])
    expect(() => parser.push('x'.repeat(MAX_EVENT_CHARS + 1))).toThrow(/longer than/)
  })

  it('does not carry the event name over to the next event', () => {
    expect(parse('event: delta\ndata: 1\n\ndata: 2\n\n')).toEqual([
      { event: 'delta', data: '1' },
      { event: 'message', data: '2' },
    ])
  })
})

describe('readSse', () => {
  it('decodes UTF-8 split between network reads', async () => {
    const bytes = new TextEncoder().encode('event: delta\r\ndata: {"text":"Шов"}\r\n\r\n')
    const cut = bytes.indexOf(0xa8) // inside the two bytes of "Ш"
    expect(cut).toBeGreaterThan(0)
    const events = await collect(body(bytes.slice(0, cut), bytes.slice(cut)))
    expect(events).toEqual([{ event: 'delta', data: '{"text":"Шов"}' }])
  })

  it('yields each event as soon as its chunk arrives', async () => {
    const encoder = new TextEncoder()
    let push: (text: string) => void = () => undefined
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        push = (text) => {
          controller.enqueue(encoder.encode(text))
        }
      },
    })
    const iterator = readSse(stream)
    push('data: one\n\n')
    expect((await iterator.next()).value).toEqual({ event: 'message', data: 'one' })
    push('data: two\n\n')
    expect((await iterator.next()).value).toEqual({ event: 'message', data: 'two' })
    await iterator.return(undefined)
  })

  it('rejects with an AbortError when the signal fires while waiting, and cancels the body', async () => {
    let cancelled = false
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('data: first\n\n'))
      },
      cancel() {
        cancelled = true
      },
    })
    const controller = new AbortController()
    const events: SseEvent[] = []
    const reading = (async () => {
      for await (const event of readSse(stream, controller.signal)) {
        events.push(event)
        setTimeout(() => controller.abort(), 10)
      }
    })()

    await expect(reading).rejects.toMatchObject({ name: 'AbortError' })
    expect(events).toEqual([{ event: 'message', data: 'first' }])
    expect(cancelled).toBe(true)
  })

  it('yields nothing for a body of keepalive comments only', async () => {
    expect(await collect(body(': keepalive\n\n', ': keepalive\n\n'))).toEqual([])
  })

  it('ends the last event at a bare CR that closes the stream', async () => {
    expect(await collect(body('event: done\rdata: {}\r', '\r'))).toEqual([{ event: 'done', data: '{}' }])
  })

  it('passes on a network failure mid-stream after the events before it', async () => {
    let fail: () => void = () => undefined
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('data: before\n\n'))
        fail = () => {
          controller.error(new TypeError('connection reset'))
        }
      },
    })
    const events: SseEvent[] = []
    const reading = (async () => {
      for await (const event of readSse(stream)) {
        events.push(event)
        fail()
      }
    })()
    await expect(reading).rejects.toThrow('connection reset')
    expect(events).toEqual([{ event: 'message', data: 'before' }])
  })
})
