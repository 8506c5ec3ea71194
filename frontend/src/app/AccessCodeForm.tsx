// The access-code screen, shown instead of the views when the server wants a code
// and this browser has no session. Errors appear under the field, announced.
import { KeyRound, LogIn } from 'lucide-react'
import { type SubmitEvent, useEffect, useId, useRef, useState } from 'react'
import type { ApiError } from '../api/client'
import type { Language } from '../api/types'
import { useI18n } from '../hooks/useI18n'
import { describeError, formatDuration, type Translate } from '../i18n/translate'

interface AccessCodeFormProps {
  /** Starts a session with the code; resolves to the failure, or null on success. */
  onSubmit: (code: string) => Promise<ApiError | null>
}

type Problem = { kind: 'empty' } | { kind: 'failed'; error: ApiError }

function describeProblem(t: Translate, language: Language, problem: Problem): string {
  if (problem.kind === 'empty') return t('access.empty')
  const { error } = problem
  if (error.code === 'access_code_invalid') return t('access.invalid')
  if (error.code === 'rate_limited') {
    return error.retryAfterSeconds === undefined
      ? t('access.rateLimited')
      : t('access.rateLimited.wait', { duration: formatDuration(t, error.retryAfterSeconds) })
  }
  return describeError(language, error)
}

export function AccessCodeForm({ onSubmit }: AccessCodeFormProps) {
  const { t, language } = useI18n()
  const [code, setCode] = useState('')
  const [busy, setBusy] = useState(false)
  const [problem, setProblem] = useState<Problem | null>(null)
  const inputRef = useRef<HTMLInputElement>(null)
  const inputId = useId()
  const errorId = useId()
  const introId = useId()
  const titleId = useId()

  // Focus the field on open and after every refusal — once it is enabled again
  // (a disabled input cannot take focus while the attempt is under way).
  useEffect(() => {
    if (!busy) inputRef.current?.focus()
  }, [busy, problem])

  async function submit() {
    const entered = code.trim()
    if (entered === '') {
      setProblem({ kind: 'empty' })
      inputRef.current?.focus()
      return
    }
    setBusy(true)
    setProblem(null)
    const error = await onSubmit(entered)
    // On success the app replaces this screen; nothing more to do here.
    if (!error) return
    setBusy(false)
    setProblem({ kind: 'failed', error })
    if (error.code === 'access_code_invalid') setCode('')
  }

  function onFormSubmit(event: SubmitEvent<HTMLFormElement>) {
    event.preventDefault()
    if (!busy) void submit()
  }

  return (
    <section className="access" aria-labelledby={titleId}>
      <form className="access-card" onSubmit={onFormSubmit} noValidate>
        <KeyRound className="access-icon" aria-hidden="true" size={32} />
        <h2 id={titleId} className="access-title">
          {t('access.title')}
        </h2>
        <p id={introId} className="access-intro">
          {t('access.intro')}
        </p>
        <label htmlFor={inputId} className="access-label">
          {t('access.label')}
        </label>
        <input
          id={inputId}
          ref={inputRef}
          className="access-input"
          type="password"
          name="accessCode"
          autoComplete="current-password"
          autoCapitalize="off"
          autoCorrect="off"
          spellCheck={false}
          maxLength={256}
          enterKeyHint="go"
          value={code}
          aria-invalid={problem !== null}
          aria-describedby={`${introId} ${errorId}`}
          onChange={(event) => setCode(event.target.value)}
        />
        <p id={errorId} className="access-error" aria-live="assertive">
          {problem ? describeProblem(t, language, problem) : ''}
        </p>
        <button type="submit" className="button button-primary access-submit" disabled={busy}>
          <LogIn aria-hidden="true" size={20} />
          {busy ? t('access.checking') : t('access.submit')}
        </button>
      </form>
    </section>
  )
}
