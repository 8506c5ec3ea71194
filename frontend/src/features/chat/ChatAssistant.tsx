// The chat view: greeting, conversation, example questions, thinking state (or
// the place in the server's line while the question waits for Gemini's quota), the
// answer growing as it streams in (with Stop), errors with Retry, and the
// composer pinned to the bottom of the screen. Each answer can be copied or
// downloaded; an analysis the user asks about shows as a card in the conversation.
// For screen readers the conversation is not a live region (a finished answer would
// be read again whole): one short status says that an answer arrived, and focus
// goes to the answer when the control that had it (Send → Stop) goes away.
import { FileText, Mic, Send, Square, Trash2 } from 'lucide-react'
import { type KeyboardEvent, type Ref, type SubmitEvent, useEffect, useId, useRef, useState } from 'react'
import { ErrorNotice } from '../../components/ErrorNotice'
import { ReportActions } from '../../components/ReportActions'
import { preloadMarkdown, RichText } from '../../components/RichText'
import { Thinking } from '../../components/Thinking'
import { useI18n } from '../../hooks/useI18n'
import type { MessageKey } from '../../i18n/dictionary'
import { formatDateTime } from '../../i18n/translate'
import { answerFileName, findVerdict } from '../../lib/report'
import { type AnalysisContext, type ChatMessage, onAnalysisAttached } from './conversation'
import { MicButton } from './MicButton'
import { canSpeak, SpeakButton } from './SpeakButton'
import { useChat } from './useChat'

/** The server accepts questions of up to 20,000 characters. */
const MESSAGE_MAX_LENGTH = 20_000

const EXAMPLES: readonly MessageKey[] = ['chat.example1', 'chat.example2', 'chat.example3', 'chat.example4']

interface MessageProps {
  role: ChatMessage['role']
  text: string
  speaker: string
  incomplete?: ChatMessage['incomplete']
  streaming?: boolean
  /** Offer copy and download under it (a finished answer). */
  actions?: boolean
  /** A question asked by voice (`text` is its transcript). */
  voice?: boolean
  /** Set on the latest answer: focus is moved to it when it arrives. */
  ref?: Ref<HTMLDivElement>
}

/** The analysis the conversation is about from here on: thumbnail, date, verdict. */
function AnalysisCard({ analysis, report }: { analysis: AnalysisContext; report: string }) {
  const { t, language } = useI18n()
  const verdict = findVerdict(report)
  return (
    <div className="analysis-card">
      {analysis.thumbnail ? (
        <img src={analysis.thumbnail} alt={t('saved.thumbAlt')} />
      ) : (
        <FileText aria-hidden="true" size={40} className="analysis-card-icon" />
      )}
      <div className="analysis-card-text">
        <p className="analysis-card-title">
          {t('chat.contextTitle', { date: formatDateTime(language, analysis.date) })}
        </p>
        {verdict && (
          <p className="analysis-card-verdict">
            {verdict.kind && <span className={`verdict verdict-${verdict.kind}`}>{t(`verdict.${verdict.kind}`)}</span>}
            {verdict.line}
          </p>
        )}
        {analysis.note && <p className="muted small">{analysis.note}</p>}
        <p className="muted small">{t('chat.contextHint')}</p>
      </div>
    </div>
  )
}

function Message({
  role,
  text,
  speaker,
  incomplete,
  streaming = false,
  actions = false,
  voice = false,
  ref,
}: MessageProps) {
  const { t } = useI18n()
  const classes = ['message', `message-${role}`]
  if (incomplete) classes.push('message-incomplete')
  if (streaming) classes.push('streaming')
  return (
    <div
      ref={ref}
      className={classes.join(' ')}
      aria-busy={streaming || undefined}
      {...(ref ? { tabIndex: -1 } : {})}
    >
      <span className="visually-hidden">{speaker}: </span>
      {role === 'model' ? (
        <RichText text={text} headingLevel={3} />
      ) : (
        <p className="message-plain">
          {voice && <Mic className="voice-question-icon" role="img" aria-label={t('voice.question')} size={16} />}
          {text}
        </p>
      )}
      {incomplete && (
        <p className="incomplete-note">{incomplete === 'stopped' ? t('answer.stopped') : t('answer.incomplete')}</p>
      )}
      {actions && (
        <ReportActions label={t('chat.answerActions')} markdown={() => text} filename={() => answerFileName(new Date())}>
          {canSpeak() && <SpeakButton text={text} />}
        </ReportActions>
      )}
    </div>
  )
}

export function ChatAssistant() {
  const { t, language } = useI18n()
  const { messages, status, queue, send, sendVoice, retry, stop, clear } = useChat(language)
  const [draft, setDraft] = useState('')
  const inputRef = useRef<HTMLTextAreaElement>(null)
  const endRef = useRef<HTMLDivElement>(null)
  const stopRef = useRef<HTMLButtonElement>(null)
  const answerRef = useRef<HTMLDivElement>(null)
  const rootRef = useRef<HTMLDivElement>(null)
  const wasSending = useRef(false)
  /** The answer that was last when the view opened: not announced again. */
  const [loadedLastId] = useState(() => messages.at(-1)?.id)
  const inputId = useId()
  const hintId = useId()
  const sending = status.kind === 'sending'
  /** The answer arriving right now ('' before its first piece). */
  const live = status.kind === 'sending' ? status.text : ''

  useEffect(preloadMarkdown, [])

  // Asked about an analysis: the next question is about it.
  useEffect(
    () =>
      onAnalysisAttached(() => {
        window.setTimeout(() => inputRef.current?.focus(), 0)
      }),
    [],
  )

  useEffect(() => {
    const end = endRef.current
    // Not while the view is hidden behind the other tab: the page scroll is shared.
    if (end && end.offsetParent !== null) end.scrollIntoView({ block: 'end' })
  }, [messages.length, status.kind, live.length])

  // Send turns into Stop and Stop back into Send: when the button that had focus
  // goes away, focus goes to Stop, then to the answer (or to Retry after a failure).
  useEffect(() => {
    const before = wasSending.current
    wasSending.current = sending
    if (before === sending) return
    const active = document.activeElement
    if (active !== null && active !== document.body) return
    if (sending) stopRef.current?.focus()
    else if (status.kind === 'failed') rootRef.current?.querySelector<HTMLElement>('.error-notice button')?.focus()
    else answerRef.current?.focus()
  }, [sending, status.kind])

  const last = messages.at(-1)
  const lastAnswer = last?.role === 'model' && !last.analysis ? last : undefined
  /** The complete answer that has just arrived in this view: announced once (a stopped one was the user's doing). */
  const announce = !sending && lastAnswer && lastAnswer.id !== loadedLastId && !lastAnswer.incomplete ? lastAnswer : undefined

  function submit() {
    if (send(draft)) setDraft('')
  }

  function onSubmit(event: SubmitEvent<HTMLFormElement>) {
    event.preventDefault()
    submit()
  }

  function onKeyDown(event: KeyboardEvent<HTMLTextAreaElement>) {
    if (event.key !== 'Enter' || event.shiftKey || event.nativeEvent.isComposing) return
    event.preventDefault()
    submit()
  }

  function ask(question: string) {
    send(question)
    inputRef.current?.focus()
  }

  function onStop() {
    stop()
    inputRef.current?.focus()
  }

  function onClear() {
    clear()
    inputRef.current?.focus()
  }

  return (
    <div className="chat" ref={rootRef}>
      <h2 className="visually-hidden">{t('nav.chat')}</h2>
      {(messages.length > 0 || status.kind !== 'idle') && (
        <div className="chat-toolbar">
          <button type="button" className="button button-ghost" onClick={onClear}>
            <Trash2 aria-hidden="true" size={18} />
            {t('chat.clear')}
          </button>
        </div>
      )}
      <div className="chat-scroll">

        <div className="chat-log" role="log" aria-live="off" aria-label={t('chat.logLabel')}>
          <Message role="model" text={t('chat.greeting')} speaker={t('chat.assistant')} />
          {messages.map((message) =>
            message.analysis ? (
              <AnalysisCard key={message.id} analysis={message.analysis} report={message.text} />
            ) : (
              <Message
                key={message.id}
                role={message.role}
                text={message.text}
                speaker={message.role === 'user' ? t('chat.you') : t('chat.assistant')}
                actions={message.role === 'model'}
                voice={message.voice === true}
                {...(message === lastAnswer ? { ref: answerRef } : {})}
                {...(message.incomplete ? { incomplete: message.incomplete } : {})}
              />
            ),
          )}
          {live !== '' && <Message role="model" text={live} speaker={t('chat.assistant')} streaming />}
        </div>

        {messages.length === 0 && status.kind === 'idle' && (
          <ul className="examples" aria-label={t('chat.examplesLabel')}>
            {EXAMPLES.map((key) => (
              <li key={key}>
                <button type="button" className="chip" onClick={() => ask(t(key))}>
                  {t(key)}
                </button>
              </li>
            ))}
          </ul>
        )}

        <Thinking
          active={sending && live === ''}
          label={t('chat.thinking')}
          queue={queue}
          finished={announce ? { key: announce.id, text: t('chat.answered') } : null}
        />
        {status.kind === 'failed' && <ErrorNotice error={status.error} onRetry={retry} />}
        <div ref={endRef} className="chat-end" />
      </div>

      <form className="composer" onSubmit={onSubmit}>
        <label htmlFor={inputId} className="visually-hidden">
          {t('chat.inputLabel')}
        </label>
        <textarea
          id={inputId}
          ref={inputRef}
          className="composer-input"
          rows={1}
          maxLength={MESSAGE_MAX_LENGTH}
          value={draft}
          placeholder={t('chat.placeholder')}
          enterKeyHint="send"
          aria-describedby={hintId}
          onChange={(event) => setDraft(event.target.value)}
          onKeyDown={onKeyDown}
        />
        <MicButton enabled={!sending} onRecorded={(audio) => sendVoice(audio, t('voice.pending'))} />
        {/* Keyed apart: were React to turn this one button from Stop into Send
            inside Stop's click, the click would submit what was typed meanwhile. */}
        {sending ? (
          <button key="stop" ref={stopRef} type="button" className="send-button stop-button" onClick={onStop}>
            <Square aria-hidden="true" size={18} fill="currentColor" />
            <span className="visually-hidden">{t('common.stop')}</span>
          </button>
        ) : (
          <button key="send" type="submit" className="send-button" disabled={draft.trim() === ''}>
            <Send aria-hidden="true" size={22} />
            <span className="visually-hidden">{t('chat.send')}</span>
          </button>
        )}
        <p id={hintId} className="composer-hint">
          {t('chat.hint')}
        </p>
      </form>
    </div>
  )
}
