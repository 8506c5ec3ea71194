// A small notice while the browser is offline: the app itself (served by the
// service worker) and the saved chats still work; sending waits for the link.
// A failed send still shows its own network error, as it does online.
import { WifiOff } from 'lucide-react'
import { useOnline } from './useOnline'
import { useI18n } from '../hooks/useI18n'

export function OfflineBanner() {
  const { t } = useI18n()
  const online = useOnline()
  if (online) return null
  return (
    <p className="offline-banner" role="status">
      <WifiOff aria-hidden="true" size={18} />
      <span>
        <strong>{t('offline.title')}</strong> — {t('offline.detail')}
      </span>
    </p>
  )
}
