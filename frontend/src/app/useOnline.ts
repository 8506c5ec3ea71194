// Whether the browser thinks it has a network connection (`navigator.onLine`,
// kept current by the `online`/`offline` events). `true` is only a hint — a
// request can still fail — but `false` is reliable: nothing will get through.
import { useSyncExternalStore } from 'react'

function subscribe(onChange: () => void): () => void {
  window.addEventListener('online', onChange)
  window.addEventListener('offline', onChange)
  return () => {
    window.removeEventListener('online', onChange)
    window.removeEventListener('offline', onChange)
  }
}

const snapshot = () => navigator.onLine

/** `navigator.onLine`, re-rendering when it changes. */
export function useOnline(): boolean {
  return useSyncExternalStore(subscribe, snapshot, () => true)
}
