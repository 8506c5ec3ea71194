// The analyses kept on this device (saved.ts) as React state: the list,
// newest first, with add and remove, each written through to localStorage.
import { useState } from 'react'
import { loadAnalyses, type SavedAnalysis, saveAnalyses, withAnalysis } from './saved'

export interface SavedAnalyses {
  list: SavedAnalysis[]
  add: (analysis: SavedAnalysis) => void
  remove: (id: string) => void
}

export function useSavedAnalyses(): SavedAnalyses {
  const [list, setList] = useState<SavedAnalysis[]>(loadAnalyses)

  function add(analysis: SavedAnalysis) {
    setList((current) => saveAnalyses(withAnalysis(current, analysis)))
  }

  function remove(id: string) {
    setList((current) => saveAnalyses(current.filter((item) => item.id !== id)))
  }

  return { list, add, remove }
}
