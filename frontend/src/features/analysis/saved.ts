// The analyses kept on this device: the newest 20 finished reports with their
// note, small thumbnails (JPEG data: URLs) and date, in localStorage. Nothing
// here is ever sent to the server.

/** A finished analysis as the device keeps it. */
export interface SavedAnalysis {
  id: string
  /** When it finished, ISO 8601. */
  date: string
  report: string
  note: string
  /** Small JPEG `data:` URLs, one per photo the browser could decode, in order. */
  thumbnails: string[]
  /** How many photos were sent (thumbnails may be fewer). */
  photoCount: number
}

export const ANALYSES_STORAGE_KEY = 'weld-assistant.analyses.v1'
export const MAX_SAVED_ANALYSES = 20

function isSavedAnalysis(value: unknown): value is SavedAnalysis {
  if (typeof value !== 'object' || value === null) return false
  const { id, date, report, note, thumbnails, photoCount } = value as Record<string, unknown>
  return (
    typeof id === 'string' &&
    typeof date === 'string' &&
    !Number.isNaN(Date.parse(date)) &&
    typeof report === 'string' &&
    typeof note === 'string' &&
    Array.isArray(thumbnails) &&
    thumbnails.every((url) => typeof url === 'string' && url.startsWith('data:image/')) &&
    typeof photoCount === 'number'
  )
}

/** The saved analyses, newest first; [] where storage is blocked or holds something else. */
export function loadAnalyses(storage?: Storage): SavedAnalysis[] {
  try {
    const raw = (storage ?? localStorage).getItem(ANALYSES_STORAGE_KEY)
    if (!raw) return []
    const parsed: unknown = JSON.parse(raw)
    const list = (parsed as { analyses?: unknown } | null)?.analyses
    return Array.isArray(list) ? list.filter(isSavedAnalysis).slice(0, MAX_SAVED_ANALYSES) : []
  } catch {
    return []
  }
}

/**
 * Stores the list (newest first, at most 20). When the storage is full the oldest
 * are dropped until the rest fits; the list actually kept is returned.
 */
export function saveAnalyses(analyses: readonly SavedAnalysis[], storage?: Storage): SavedAnalysis[] {
  let kept = analyses.slice(0, MAX_SAVED_ANALYSES)
  try {
    const target = storage ?? localStorage
    if (kept.length === 0) {
      target.removeItem(ANALYSES_STORAGE_KEY)
      return kept
    }
    for (;;) {
      try {
        target.setItem(ANALYSES_STORAGE_KEY, JSON.stringify({ analyses: kept }))
        return kept
      } catch (error) {
        if (kept.length <= 1) throw error
        kept = kept.slice(0, -1)
      }
    }
  } catch {
    // Private mode or a full storage: the analyses are just not remembered.
    return kept
  }
}

/** The list with `analysis` added in front (the oldest beyond 20 fall off). */
export function withAnalysis(analyses: readonly SavedAnalysis[], analysis: SavedAnalysis): SavedAnalysis[] {
  return [analysis, ...analyses.filter((item) => item.id !== analysis.id)].slice(0, MAX_SAVED_ANALYSES)
}
