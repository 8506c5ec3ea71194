// Renders the model's Markdown (GFM: tables, lists, code) as React elements.
// Raw HTML in the text is NOT interpreted (no rehype-raw): it shows as text.
// Images become links, so an answer can never make the page load anything
// from another host; links open in a new tab without referrer or opener.
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

export default function Markdown({ text }: { text: string }) {
  return (
    <div className="markdown">
      <ReactMarkdown remarkPlugins={remarkPlugins} components={components}>
        {text}
      </ReactMarkdown>
    </div>
  )
}
