// A failed request, explained in the UI language by its error code, with Retry.
import { RotateCcw } from 'lucide-react'
import type { ApiError } from '../api/client'
import { useI18n } from '../hooks/useI18n'
import { describeError } from '../i18n/translate'
import { cookieDroppedOverHttp, InsecureCookieNotice } from './InsecureCookieNotice'

interface ErrorNoticeProps {
  error: ApiError
  onRetry?: () => void
}

/** Server messages worth showing as a detail: they name a field or a block reason. */
const DETAILED_CODES = new Set(['invalid_request', 'content_blocked'])

export function ErrorNotice({ error, onRetry }: ErrorNoticeProps) {
  const { t, language } = useI18n()
  return (
    <div className="error-notice" role="alert">
      {error.code === 'session_required' && cookieDroppedOverHttp(window.location) ? (
        <InsecureCookieNotice />
      ) : (
        <p>{describeError(language, error)}</p>
      )}
      {DETAILED_CODES.has(error.code) && error.message !== '' && (
        <p className="error-detail">{t('error.detail', { message: error.message })}</p>
      )}
      {onRetry && (
        <button type="button" className="button button-secondary" onClick={onRetry}>
          <RotateCcw aria-hidden="true" size={18} />
          {t('common.retry')}
        </button>
      )}
    </div>
  )
}
