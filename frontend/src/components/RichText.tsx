// Model text as Markdown, with the Markdown renderer (about half of the app's
// JavaScript) loaded after the first paint. Until it arrives, the text shows
// as plain text, so nothing is ever hidden while loading.
import { lazy, Suspense } from 'react'

const loadMarkdown = () => import('./Markdown')
const Markdown = lazy(loadMarkdown)

/** Starts loading the renderer early, e.g. right after the first paint. */
export function preloadMarkdown(): void {
  void loadMarkdown()
}

export function RichText({ text }: { text: string }) {
  return (
    <Suspense fallback={<p className="message-plain">{text}</p>}>
      <Markdown text={text} />
    </Suspense>
  )
}
