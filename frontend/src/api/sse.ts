// Server-Sent Events over a fetch Response (EventSource cannot POST): an async
// iterator over the events of a `text/event-stream` body. The format itself
// (WHATWG HTML §9.2.6: line ends, comments, split chunks) is parsed by the kept
// `eventsource-parser` package; this module only adapts it to a stream with an
// AbortSignal. Knows nothing of the API.
import { createParser, type EventSourceParser } from 'eventsource-parser'

export interface SseEvent {
  /** The `event:` field; "message" when the event named none. */
  event: string
  /** The `data:` lines joined with "\n". */
  data: string
  /** The `id:` field, when one was given. */
  id?: string
}

/**
 * The most text one event (or one unfinished line) may hold. Our own events are
 * small pieces of an answer; a body that never ends its lines is not a stream of ours.
 */
export const MAX_EVENT_CHARS = 4 * 1024 * 1024

/**
 * Feeds text in any pieces (split anywhere, even inside a line or a CRLF) and
 * returns the events that are complete so far. Comment lines (`: keepalive`) and
 * unknown fields are ignored; `\n`, `\r\n` and `\r` all end a line. Throws when an
 * event grows past MAX_EVENT_CHARS.
 */
export class SseParser {
  private events: SseEvent[] = []
  private overflow = false
  /** The last piece ended with "\r": at the end of the stream that is a line end too. */
  private endsWithCr = false
  private readonly parser: EventSourceParser = createParser({
    maxBufferSize: MAX_EVENT_CHARS,
    onEvent: ({ event, data, id }) => {
      this.events.push({ event: event ?? 'message', data, ...(id !== undefined ? { id } : {}) })
    },
    onError: (error) => {
      // Unknown fields and a bad `retry` mean nothing here; only an endless event does.
      if (error.type === 'max-buffer-size-exceeded') this.overflow = true
    },
  })

  push(text: string): SseEvent[] {
    if (text !== '') {
      this.parser.feed(text)
      this.endsWithCr = text.endsWith('\r')
    }
    if (this.overflow) throw new Error(`An event of the stream is longer than ${MAX_EVENT_CHARS} characters`)
    return this.take()
  }

  /** The end of the stream: an event without its closing blank line is dropped, as browsers do. */
  end(): SseEvent[] {
    if (this.endsWithCr) this.parser.feed('\n')
    const events = this.overflow ? [] : this.take()
    this.parser.reset()
    this.endsWithCr = false
    return events
  }

  private take(): SseEvent[] {
    const events = this.events
    this.events = []
    return events
  }
}

function abortError(signal: AbortSignal): unknown {
  const reason: unknown = signal.reason
  if (reason instanceof Error && reason.name === 'AbortError') return reason
  return new DOMException('The operation was aborted.', 'AbortError')
}

/**
 * The events of a `text/event-stream` body, in order, as they arrive. Rejects with
 * an AbortError when `signal` fires (the body is cancelled, so the connection is
 * dropped), and with the reader's own error when the network fails mid-way.
 */
export async function* readSse(body: ReadableStream<Uint8Array>, signal?: AbortSignal): AsyncGenerator<SseEvent> {
  const reader = body.getReader()
  const decoder = new TextDecoder()
  const parser = new SseParser()
  const onAbort = () => {
    reader.cancel().catch(() => undefined)
  }
  if (signal?.aborted) {
    onAbort()
    throw abortError(signal)
  }
  signal?.addEventListener('abort', onAbort)
  try {
    for (;;) {
      const { done, value } = await reader.read()
      if (signal?.aborted) throw abortError(signal)
      if (done) {
        yield* parser.push(decoder.decode())
        yield* parser.end()
        return
      }
      for (const event of parser.push(decoder.decode(value, { stream: true }))) {
        yield event
        if (signal?.aborted) throw abortError(signal)
      }
    }
  } finally {
    signal?.removeEventListener('abort', onAbort)
    // Stops the download when the consumer stops early (break, throw, abort).
    reader.cancel().catch(() => undefined)
    reader.releaseLock()
  }
}
