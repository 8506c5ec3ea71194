// At most one render per animation frame while a streamed answer grows: the
// pieces of text arrive much faster than a Markdown re-render is worth.

export interface FrameScheduler {
  /** Runs the callback on the next frame, unless it is already due then. */
  schedule: () => void
  /** Forgets a pending run (before the final, immediate update). */
  cancel: () => void
}

export function frameScheduler(callback: () => void): FrameScheduler {
  const hasRaf = typeof requestAnimationFrame === 'function'
  let handle: number | null = null
  const run = () => {
    handle = null
    callback()
  }
  return {
    schedule() {
      if (handle !== null) return
      handle = hasRaf ? requestAnimationFrame(run) : window.setTimeout(run, 16)
    },
    cancel() {
      if (handle === null) return
      if (hasRaf) cancelAnimationFrame(handle)
      else window.clearTimeout(handle)
      handle = null
    },
  }
}
