// Getting a report out of the app: onto the clipboard, or into a downloaded
// `.md` file. Browser APIs only; knows nothing of React or of what the text is.

/** Puts `text` on the clipboard; false where the browser refuses (no permission, plain HTTP). */
export async function copyText(text: string): Promise<boolean> {
  try {
    // Missing on plain-HTTP pages: the TypeError lands in the catch.
    await navigator.clipboard.writeText(text)
    return true
  } catch {
    return false
  }
}

/** How long the object URL of a download lives: long enough for a slow phone to start saving. */
const REVOKE_AFTER_MS = 60_000

/** Saves `text` as a Markdown file named `filename` (the browser's download). */
export function downloadMarkdown(filename: string, text: string): void {
  const blob = new Blob([text], { type: 'text/markdown;charset=utf-8' })
  const url = URL.createObjectURL(blob)
  const link = document.createElement('a')
  link.href = url
  link.download = filename
  link.hidden = true
  document.body.append(link)
  link.click()
  link.remove()
  window.setTimeout(() => URL.revokeObjectURL(url), REVOKE_AFTER_MS)
}
