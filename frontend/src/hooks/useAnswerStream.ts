// The lifecycle of one streamed answer, shared by the chat and the weld analyzer:
// idle → waiting (sent, nothing arrived yet; with `queue` while the question
// waits in the server's line for Gemini's quota) → streaming (the text grows, at most
// one render per frame) → done, stopped (by the user) or failed (with Retry).
// The request runs through `withSession` (a new session and one more try on 401).
// A request is aborted on Stop, on a new start, on cancel and on unmount. Knows
// nothing of what the answer is for: the view's own hook keeps the result.
import { useEffect, useRef, useState } from 'react'
import { type ApiError, asApiError, type CallOptions, type StreamDone, type StreamHandlers } from '../api/client'
import type { Waiting } from '../api/types'
import { frameScheduler } from './frame'
import { useWithSession } from './useWithSession'

/** Opens the stream of one request, like `chatStream` and `analyzeStream` of api/client. */
export type OpenStream<R> = (request: R, handlers: StreamHandlers, options: CallOptions) => Promise<StreamDone>

export type AnswerState<R> =
  /** Nothing sent yet, or dropped by `cancel`. */
  | { kind: 'idle' }
  /**
   * Sent; no text has arrived yet. `queue`: the question's place in the server's
   * line (the last `waiting` event), until the first piece of text, the end or Stop.
   */
  | { kind: 'waiting'; request: R; queue?: Waiting }
  /** The answer is arriving; `text` is what came so far. */
  | { kind: 'streaming'; request: R; text: string }
  /** The whole answer. */
  | { kind: 'done'; request: R; text: string }
  /** Stopped by the user; `text` is what had arrived ('' when nothing did). */
  | { kind: 'stopped'; request: R; text: string }
  /** Failed before or during the answer; `text` is what had arrived ('' when nothing did). */
  | { kind: 'failed'; request: R; text: string; error: ApiError }

/** How a request ended: the last state it reaches. */
export type AnswerEnd<R> = Extract<AnswerState<R>, { kind: 'done' | 'stopped' | 'failed' }>

export interface AnswerStream<R> {
  state: AnswerState<R>
  /** True while waiting or streaming. */
  busy: boolean
  /** The place in the server's line while the question waits there; null otherwise. */
  queue: Waiting | null
  /** Sends a request, dropping any in flight. */
  start: (request: R) => void
  /** Sends the request that failed once more; nothing otherwise. */
  retry: () => void
  /** Stops the answer in flight; ends as `stopped` with what had arrived. */
  stop: () => void
  /** Drops the request in flight, if any, without an end, and goes back to idle. */
  cancel: () => void
}

const IDLE = { kind: 'idle' } as const

/**
 * The answer-stream lifecycle over `open`. `onEnd` is called once per request that
 * ends (not for one dropped by a new start, `cancel` or unmount), in the same
 * update as the state it ends in, so a view can keep the answer where it belongs.
 */
export function useAnswerStream<R>(open: OpenStream<R>, onEnd?: (end: AnswerEnd<R>) => void): AnswerStream<R> {
  const [state, setState] = useState<AnswerState<R>>(IDLE)
  const inFlight = useRef<AbortController | null>(null)
  /** The request the user stopped (as opposed to one dropped by a new start, cancel or unmount). */
  const stopping = useRef<AbortController | null>(null)
  const withSession = useWithSession()

  useEffect(() => {
    return () => inFlight.current?.abort()
  }, [])

  async function run(request: R) {
    inFlight.current?.abort()
    const controller = new AbortController()
    inFlight.current = controller
    let text = ''
    /** A piece of the answer has arrived (it may not be rendered yet). */
    let started = false
    const render = frameScheduler(() => {
      if (!controller.signal.aborted) setState({ kind: 'streaming', request, text })
    })
    setState({ kind: 'waiting', request })
    const handlers: StreamHandlers = {
      onOpen: () => {
        // A second try after a new session starts from nothing again.
        text = ''
        started = false
      },
      onWaiting: (queue) => {
        // Only before the answer starts; the first piece ends the wait for good.
        if (started || controller.signal.aborted) return
        setState({ kind: 'waiting', request, queue })
      },
      onDelta: (piece) => {
        started = true
        text += piece
        render.schedule()
      },
    }
    let end: AnswerEnd<R> | null = null
    let stoppedByUser: boolean
    try {
      await withSession(() => open(request, handlers, { signal: controller.signal }))
      if (!controller.signal.aborted) end = { kind: 'done', request, text }
    } catch (error) {
      if (!controller.signal.aborted) end = { kind: 'failed', request, text, error: asApiError(error) }
    } finally {
      render.cancel()
      stoppedByUser = stopping.current === controller
      if (inFlight.current === controller) inFlight.current = null
      if (stopping.current === controller) stopping.current = null
    }
    // Stopped by the user, whether the aborted request threw or just ended.
    if (!end && stoppedByUser) end = { kind: 'stopped', request, text }
    if (end) {
      onEnd?.(end)
      setState(end)
    }
  }

  function start(request: R) {
    void run(request)
  }

  function retry() {
    if (state.kind === 'failed') void run(state.request)
  }

  function stop() {
    const controller = inFlight.current
    if (!controller) return
    stopping.current = controller
    controller.abort()
  }

  function cancel() {
    inFlight.current?.abort()
    inFlight.current = null
    setState(IDLE)
  }

  const busy = state.kind === 'waiting' || state.kind === 'streaming'
  const queue = state.kind === 'waiting' ? (state.queue ?? null) : null
  return { state, busy, queue, start, retry, stop, cancel }
}
