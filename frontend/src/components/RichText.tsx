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

interface RichTextProps {
  text: string
  /** The level the text's top headings get, so they continue the page's outline (default 2). */
  headingLevel?: number
}

export function RichText({ text, headingLevel = 2 }: RichTextProps) {
  return (
    <Suspense fallback={<p className="message-plain">{text}</p>}>
      <Markdown text={text} headingLevel={headingLevel} />
    </Suspense>
  )
}
