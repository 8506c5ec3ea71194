// The microphone button of the chat composer: hold to talk (release sends), or
// press once to start and once more to send; Escape or the ✕ cancels. While it
// records, a bar above the composer shows the time and the limit, and recording
// stops (and sends) at the limit. From the keyboard, Enter or Space starts and
// sends. Problems with the microphone (denied, absent, no HTTPS) are said in
// words in the same place. Knows nothing of the API: `onRecorded` gets the
// finished recording as base64.
import { Mic, Square, X } from 'lucide-react'
import { type KeyboardEvent, type PointerEvent, type MouseEvent, useEffect, useRef, useState } from 'react'
import { useI18n } from '../../hooks/useI18n'
import type { MessageKey } from '../../i18n/dictionary'
import { blobToBase64, type Recorder, RecorderError, type RecorderProblem, startRecording, VOICE_MAX_SECONDS } from './recorder'
import './voice.css'

/** A press longer than this is hold-to-talk: releasing it sends. */
const HOLD_MS = 400
/** Shorter recordings are dropped (a slip of the finger), with a word why. */
const MIN_SECONDS = 0.4

const PROBLEM_KEYS: Record<RecorderProblem | 'too_short', MessageKey> = {
  insecure: 'voice.insecure',
  unsupported: 'voice.unsupported',
  denied: 'voice.denied',
  no_device: 'voice.noDevice',
  busy: 'voice.busy',
  failed: 'voice.failed',
  too_short: 'voice.tooShort',
}

interface MicButtonProps {
  /** False while an answer is on its way: nothing can be recorded then. */
  enabled: boolean
  /** A finished recording, as base64 with its type. */
  onRecorded: (audio: { mimeType: string; data: string }) => void
  maxSeconds?: number
}

type Mode =
  | { kind: 'idle' }
  | { kind: 'starting' }
  /** `held`: started by a press still held down (its release sends). */
  | { kind: 'recording'; started: number; held: boolean }

function clock(seconds: number): string {
  const whole = Math.max(0, Math.floor(seconds))
  return `${Math.floor(whole / 60)}:${String(whole % 60).padStart(2, '0')}`
}

export function MicButton({ enabled, onRecorded, maxSeconds = VOICE_MAX_SECONDS }: MicButtonProps) {
  const { t } = useI18n()
  const [mode, setMode] = useState<Mode>({ kind: 'idle' })
  const [problem, setProblem] = useState<MessageKey | null>(null)
  const [now, setNow] = useState(() => performance.now())
  const recorder = useRef<Recorder | null>(null)
  /** When the press that is down now began, if it did on this button. */
  const pressedAt = useRef<number | null>(null)
  /** A cancel or stop arrived while the microphone was still being opened. */
  const abandoned = useRef(false)
  const buttonRef = useRef<HTMLButtonElement>(null)
  /** Read through a function: TypeScript would take the value set before an `await` as still true after it. */
  const wasAbandoned = () => abandoned.current
  const recording = mode.kind === 'recording'
  // The limit's timer calls `finish` from the render that started recording:
  // it must reach the newest `onRecorded`.
  const recorded = useRef(onRecorded)
  useEffect(() => {
    recorded.current = onRecorded
  }, [onRecorded])

  useEffect(() => {
    if (!recording) return
    const timer = window.setInterval(() => setNow(performance.now()), 250)
    return () => window.clearInterval(timer)
  }, [recording])

  // Leaving the chat drops a recording in progress.
  useEffect(() => () => recorder.current?.cancel(), [])

  async function begin(held: boolean) {
    setProblem(null)
    abandoned.current = false
    setMode({ kind: 'starting' })
    try {
      const started = await startRecording(maxSeconds, () => void finish())
      if (wasAbandoned()) {
        started.cancel()
        setMode({ kind: 'idle' })
        return
      }
      recorder.current = started
      const at = performance.now()
      setNow(at)
      // A hold that ended while the permission prompt was up is a tap.
      setMode({ kind: 'recording', started: at, held: held && pressedAt.current !== null })
    } catch (error) {
      setMode({ kind: 'idle' })
      setProblem(PROBLEM_KEYS[error instanceof RecorderError ? error.problem : 'failed'])
    }
  }

  async function finish() {
    const current = recorder.current
    recorder.current = null
    setMode({ kind: 'idle' })
    if (!current) {
      abandoned.current = true
      return
    }
    try {
      const recording = await current.stop()
      if (recording.seconds < MIN_SECONDS) {
        setProblem('voice.tooShort')
        return
      }
      recorded.current({ mimeType: recording.mimeType, data: await blobToBase64(recording.data) })
    } catch {
      setProblem('voice.failed')
    }
  }

  function cancel() {
    abandoned.current = true
    recorder.current?.cancel()
    recorder.current = null
    setMode({ kind: 'idle' })
    buttonRef.current?.focus()
  }

  function onPointerDown(event: PointerEvent<HTMLButtonElement>) {
    if (event.button !== 0 || !enabled) return
    // Keeps the press on the button (no text selection, no focus theft by a scroll).
    event.preventDefault()
    try {
      event.currentTarget.setPointerCapture(event.pointerId)
    } catch {
      // Not every environment captures pointers; the release still reaches the button mostly.
    }
    pressedAt.current = performance.now()
    if (mode.kind === 'idle') void begin(true)
  }

  function onPointerUp() {
    const pressed = pressedAt.current
    pressedAt.current = null
    if (pressed === null) return
    const long = performance.now() - pressed >= HOLD_MS
    if (mode.kind === 'recording') {
      // A long hold that started it, or a second press in tap mode, sends.
      if (!mode.held || long) void finish()
      else setMode({ ...mode, held: false })
    } else if (mode.kind === 'starting' && long) {
      // Released before the microphone opened: nothing worth sending yet.
      abandoned.current = true
    }
  }

  function onPointerCancel() {
    if (pressedAt.current === null) return
    pressedAt.current = null
    if (mode.kind === 'recording' && mode.held) cancel()
  }

  // Enter, Space and screen readers click without a pointer (detail 0).
  function onClick(event: MouseEvent<HTMLButtonElement>) {
    if (event.detail !== 0 || !enabled) return
    if (mode.kind === 'idle') void begin(false)
    else if (mode.kind === 'recording') void finish()
  }

  function onKeyDown(event: KeyboardEvent) {
    if (event.key === 'Escape' && mode.kind !== 'idle') {
      event.preventDefault()
      cancel()
    }
  }

  const elapsed = recording ? (now - mode.started) / 1000 : 0
  const label = recording ? t('voice.send') : t('voice.start')
  return (
    <>
      {(recording || problem) && (
        <div className="voice-bar" onKeyDown={onKeyDown}>
          {recording ? (
            <>
              <span className="voice-dot" aria-hidden="true" />
              <span className="voice-status">
                <span>{t('voice.recording')}</span>{' '}
                <span role="timer" className="voice-time">
                  {t('voice.elapsed', { elapsed: clock(elapsed), max: clock(maxSeconds) })}
                </span>
                <span className="voice-hint">{mode.held ? t('voice.releaseToSend') : t('voice.tapToSend')}</span>
              </span>
              <button type="button" className="voice-cancel" onClick={cancel}>
                <X aria-hidden="true" size={22} />
                <span className="visually-hidden">{t('voice.cancel')}</span>
              </button>
            </>
          ) : (
            <>
              <p role="alert" className="voice-problem">
                {problem && t(problem)}
              </p>
              <button
                type="button"
                className="voice-cancel"
                onClick={() => {
                  setProblem(null)
                  buttonRef.current?.focus()
                }}
              >
                <X aria-hidden="true" size={22} />
                <span className="visually-hidden">{t('voice.dismiss')}</span>
              </button>
            </>
          )}
        </div>
      )}
      <button
        ref={buttonRef}
        type="button"
        className={recording ? 'mic-button mic-button-recording' : 'mic-button'}
        disabled={!enabled && !recording}
        aria-label={label}
        onPointerDown={onPointerDown}
        onPointerUp={onPointerUp}
        onPointerCancel={onPointerCancel}
        onClick={onClick}
        onKeyDown={onKeyDown}
        onContextMenu={(event) => event.preventDefault()}
      >
        {recording ? <Square aria-hidden="true" size={18} fill="currentColor" /> : <Mic aria-hidden="true" size={22} />}
      </button>
    </>
  )
}
