// Renders the model's Markdown (GFM: tables, lists, code) as React elements.
// Raw HTML in the text is NOT interpreted (no rehype-raw): it shows as text.
// Images become links, so an answer can never make the page load anything
// from another host; links open in a new tab without referrer or opener.
import { createElement, type ReactNode } from 'react'
import ReactMarkdown, { type Components } from 'react-markdown'
import remarkGfm from 'remark-gfm'

const LINK_REL = 'noopener noreferrer nofollow'

const components: Components = {
  a({ href, children }) {
    // In-page links (GFM footnotes) stay in the page.
    if (href?.startsWith('#')) return <a href={href}>{children}</a>
    return (
      <a href={href} target="_blank" rel={LINK_REL}>
        {children}
      </a>
    )
  },
  img({ src, alt }) {
    if (typeof src !== 'string' || src === '') return <>{alt}</>
    return (
      <a href={src} target="_blank" rel={LINK_REL}>
        {alt || src}
      </a>
    )
  },
  table({ children }) {
    // Wide tables scroll sideways on a phone instead of breaking the layout.
    return (
      <div className="table-scroll" tabIndex={0}>
        <table>{children}</table>
      </div>
    )
  },
}

const remarkPlugins = [remarkGfm]

/** The level of the text's highest ATX heading (`## …` → 2), or 1 when it has none. */
export function topHeadingLevel(text: string): number {
  let top = 7
  let fenced = false
  for (const line of text.split('\n')) {
    if (/^\s{0,3}(```|~~~)/.test(line)) fenced = !fenced
    const match = fenced ? null : /^\s{0,3}(#{1,6})\s/.exec(line)
    if (match?.[1]) top = Math.min(top, match[1].length)
  }
  return top === 7 ? 1 : top
}

type HeadingTag = 'h1' | 'h2' | 'h3' | 'h4' | 'h5' | 'h6'
const HEADING_TAGS: readonly HeadingTag[] = ['h1', 'h2', 'h3', 'h4', 'h5', 'h6']

/**
 * The model's headings moved so its top level becomes `level`: a report inside a
 * section titled h3 has its `##` as h4, and the page's heading order holds.
 */
const movedHeadings = new Map<number, Components>()

function headingComponents(shift: number): Components {
  // Kept per shift: a new component on every render would remount the headings.
  const known = movedHeadings.get(shift)
  if (known) return known
  const moved: Components = { ...components }
  HEADING_TAGS.forEach((tag, index) => {
    const target = HEADING_TAGS[Math.min(5, Math.max(0, index + shift))] ?? 'h6'
    moved[tag] = ({ children }: { children?: ReactNode }) => createElement(target, null, children)
  })
  movedHeadings.set(shift, moved)
  return moved
}

interface MarkdownProps {
  text: string
  /** The level the text's top headings become. */
  headingLevel: number
}

export default function Markdown({ text, headingLevel }: MarkdownProps) {
  const shift = headingLevel - topHeadingLevel(text)
  return (
    <div className="markdown">
      <ReactMarkdown remarkPlugins={remarkPlugins} components={headingComponents(shift)}>
        {text}
      </ReactMarkdown>
    </div>
  )
}
