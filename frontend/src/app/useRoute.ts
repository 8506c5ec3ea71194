// The two views live at /chat and /analyze; `/` (and anything unknown) shows
// the chat. Plain History API: pushState to navigate, popstate for back/forward.
import { useSyncExternalStore } from 'react'

export type View = 'chat' | 'analyze'

export const VIEW_PATHS: Record<View, string> = { chat: '/chat', analyze: '/analyze' }

export function viewFromPath(pathname: string): View {
  return pathname.replace(/\/+$/, '') === VIEW_PATHS.analyze ? 'analyze' : 'chat'
}

const listeners = new Set<() => void>()

function subscribe(listener: () => void): () => void {
  listeners.add(listener)
  window.addEventListener('popstate', listener)
  return () => {
    listeners.delete(listener)
    window.removeEventListener('popstate', listener)
  }
}

function currentView(): View {
  return viewFromPath(window.location.pathname)
}

export function navigate(view: View): void {
  if (window.location.pathname === VIEW_PATHS[view]) return
  window.history.pushState(null, '', VIEW_PATHS[view])
  for (const listener of listeners) listener()
}

/** The current view and a function that moves to another one (adding a history entry). */
export function useRoute(): [View, (view: View) => void] {
  const view = useSyncExternalStore(subscribe, currentView, () => 'chat' as const)
  return [view, navigate]
}
