// The lighter upload for slow or metered connections: photos downsized to
// LIGHT_MAX_SIDE instead of MAX_SIDE. On by itself where the browser says the
// connection is slow or data saver is on (Network Information API, where there is
// one); the user's own choice is kept on the device and wins.

/** The long side of photos prepared for a slow or metered connection. */
export const LIGHT_MAX_SIDE = 1280

export const LIGHT_UPLOAD_STORAGE_KEY = 'weld-assistant.lightUpload'

/** What the Network Information API tells, where the browser has it. */
interface NetworkInformationLike {
  saveData?: boolean
  effectiveType?: string
}

const SLOW_TYPES = new Set(['slow-2g', '2g', '3g'])

/** True when the browser reports data saver or a connection no faster than 3G. */
export function connectionIsSlow(nav: Navigator = navigator): boolean {
  const connection = (nav as Navigator & { connection?: NetworkInformationLike }).connection
  if (!connection) return false
  return connection.saveData === true || SLOW_TYPES.has(connection.effectiveType ?? '')
}

/** The choice made on this device, or null when none was made. */
export function storedLightUpload(): boolean | null {
  try {
    const value = localStorage.getItem(LIGHT_UPLOAD_STORAGE_KEY)
    return value === 'on' ? true : value === 'off' ? false : null
  } catch {
    return null
  }
}

export function storeLightUpload(on: boolean): void {
  try {
    localStorage.setItem(LIGHT_UPLOAD_STORAGE_KEY, on ? 'on' : 'off')
  } catch {
    // Not kept: private mode or a full storage.
  }
}
