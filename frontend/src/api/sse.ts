// Server-Sent Events over a fetch Response (EventSource cannot POST). A small,
// incremental parser of the text/event-stream format (WHATWG HTML §9.2.6) and an
// async iterator over the events of a response body. Knows nothing of the API.

export interface SseEvent {
  /** The `event:` field; "message" when the event named none. */
  event: string
  /** The `data:` lines joined with "\n". */
  data: string
  /** The `id:` field, when one was given. */
  id?: string
}

/**
 * Feeds text in any pieces (split anywhere, even inside a line or a CRLF) and
 * returns the events that are complete so far. Comment lines (`: keepalive`) and
 * unknown fields are ignored; `\n`, `\r\n` and `\r` all end a line.
 */
export class SseParser {
  private buffer = ''
  /** A piece ended with "\r": a "\n" at the start of the next one belongs to it. */
  private pendingCr = false
  private event = ''
  private data: string[] = []
  private hasData = false
  private id: string | undefined

  push(text: string): SseEvent[] {
    let chunk = text
    if (this.pendingCr && chunk.startsWith('\n')) chunk = chunk.slice(1)
    this.pendingCr = false
    this.buffer += chunk
    const events: SseEvent[] = []
    let start = 0
    for (;;) {
      const cr = this.buffer.indexOf('\r', start)
      const lf = this.buffer.indexOf('\n', start)
      if (cr === -1 && lf === -1) break
      let end: number
      let next: number
      if (cr !== -1 && (lf === -1 || cr < lf)) {
        end = cr
        if (cr + 1 === this.buffer.length) {
          // Cannot tell yet whether "\n" follows: treat "\r" as the end, and skip
          // a "\n" that starts the next piece.
          next = cr + 1
          this.pendingCr = true
        } else {
          next = this.buffer[cr + 1] === '\n' ? cr + 2 : cr + 1
        }
      } else {
        end = lf
        next = lf + 1
      }
      const event = this.line(this.buffer.slice(start, end))
      if (event) events.push(event)
      start = next
    }
    this.buffer = this.buffer.slice(start)
    return events
  }

  /** The end of the stream: an event without its closing blank line is dropped, as browsers do. */
  end(): SseEvent[] {
    this.buffer = ''
    this.reset()
    return []
  }

  private reset() {
    this.event = ''
    this.data = []
    this.hasData = false
  }

  private line(line: string): SseEvent | null {
    if (line === '') {
      if (!this.hasData) {
        this.reset()
        return null
      }
      const event: SseEvent = { event: this.event === '' ? 'message' : this.event, data: this.data.join('\n') }
      if (this.id !== undefined) event.id = this.id
      this.reset()
      return event
    }
    if (line.startsWith(':')) return null
    const colon = line.indexOf(':')
    const field = colon === -1 ? line : line.slice(0, colon)
    let value = colon === -1 ? '' : line.slice(colon + 1)
    if (value.startsWith(' ')) value = value.slice(1)
    switch (field) {
      case 'event':
        this.event = value
        break
      case 'data':
        this.data.push(value)
        this.hasData = true
        break
      case 'id':
        if (!value.includes('\0')) this.id = value
        break
      default:
        // `retry` and unknown fields mean nothing here.
        break
    }
    return null
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
