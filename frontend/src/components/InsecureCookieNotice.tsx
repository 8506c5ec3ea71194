// Shown instead of "reload the page" when the session cookie cannot work at all: the
// page is on plain HTTP at another machine's address (a phone on the LAN), where
// browsers drop the server's `Secure` cookie, so reloading never helps. The server
// logs the same diagnosis once. Browsers keep `Secure` cookies on http://localhost.
import { useI18n } from '../hooks/useI18n'

/** Whether browsers drop `Secure` cookies on this page: plain HTTP, not this machine. */
export function cookieDroppedOverHttp(location: Pick<Location, 'protocol' | 'hostname'>): boolean {
  if (location.protocol !== 'http:') return false
  const host = location.hostname.toLowerCase().replace(/\.$/, '')
  const local =
    host === 'localhost' ||
    host.endsWith('.localhost') ||
    host === '[::1]' ||
    host === '::1' ||
    /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host)
  return !local
}

/** The fix, for the person who cannot start a session (HTTPS, or `WELD_COOKIE_SECURE=false`). */
export function InsecureCookieNotice() {
  const { t } = useI18n()
  return <p className="insecure-cookie-notice">{t('notice.insecureCookie')}</p>
}
