// What a report says and how it is kept outside the app: the verdict found in an
// analysis (the prompt asks for a "Verdict" section: Acceptable / Needs rework /
// Reject), the file names of downloaded reports, and the Markdown that is copied
// or downloaded. Pure functions: no DOM, no storage.

/** The verdict of an analysis, as a short machine-readable word. */
export type VerdictKind = 'ok' | 'rework' | 'reject'

export interface Verdict {
  /** Null when the verdict line names none of the three outcomes. */
  kind: VerdictKind | null
  /** The verdict line itself, without Markdown marks (shortened). */
  line: string
}

const VERDICT_LABEL = /verdict|conclusion|вердикт|заключение|итог/i
/** Checked in this order: "недопустимо" and "не годен" contain the words of "ok". */
const KINDS: readonly [VerdictKind, RegExp][] = [
  ['reject', /\breject|брак|отбрак|недопуст|не\s*годен|негоден|не\s*принят|unacceptable/i],
  ['rework', /rework|repair|доработ|переделк|исправлен|ремонт/i],
  ['ok', /acceptable|accept|допуст|приемлем|годен|принят/i],
]
const MAX_LINE = 160

function plain(line: string): string {
  return line
    .replace(/^\s{0,3}(#{1,6}\s*|[-*+]\s+|>\s*)/, '')
    .replace(/[*_`]+/g, '')
    .replace(/^\d+[.)]\s*/, '')
    .trim()
}

function shorten(line: string): string {
  return line.length <= MAX_LINE ? line : `${line.slice(0, MAX_LINE - 1).trimEnd()}…`
}

/**
 * The verdict of a report: the line labelled "Verdict" / "Вердикт" (a heading or a
 * bold label) and the first line after it with text. Null when there is none.
 */
export function findVerdict(report: string): Verdict | null {
  const lines = report.split('\n')
  const at = lines.findIndex((line) => VERDICT_LABEL.test(line))
  if (at === -1) return null
  const label = plain(lines[at] ?? '')
  // "Verdict: Needs rework" on one line, or the heading and the text below it.
  const sameLine = label.replace(/^[^:—–-]*(verdict|conclusion|вердикт|заключение|итог)[^:—–-]*[:—–-]\s*/i, '')
  const rest = lines
    .slice(at + 1, at + 6)
    .map(plain)
    .filter((line) => line !== '')
  const line = sameLine !== label && sameLine !== '' ? sameLine : (rest[0] ?? '')
  if (line === '') return null
  const scope = [line, ...rest.slice(0, 2)].join(' ')
  const kind = KINDS.find(([, pattern]) => pattern.test(line))?.[0] ?? KINDS.find(([, pattern]) => pattern.test(scope))?.[0] ?? null
  return { kind, line: shorten(line) }
}

/**
 * The opening of a report as plain text for a one-line summary: headings, list
 * marks, emphasis, code marks, link targets and table pipes dropped, lines joined,
 * at most `max` characters.
 */
export function reportSummary(report: string, max = 80): string {
  const text = report
    .split('\n')
    .filter((line) => !/^\s*(```|~~~|\|?\s*:?-{3,})/.test(line))
    .map((line) =>
      plain(
        line
          .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
          .replace(/\|/g, ' ')
          .replace(/~~/g, ''),
      ),
    )
    .filter((line) => line !== '')
    .join(' ')
    .replace(/\s+/g, ' ')
    .trim()
  return text.length <= max ? text : `${text.slice(0, max - 1).trimEnd()}…`
}

/** The local calendar date as YYYY-MM-DD. */
export function isoDate(date: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0')
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`
}

/** `weld-analysis-2026-12-01-ok.md`; `…-report.md` when the report names no verdict. */
export function analysisFileName(date: Date, report: string): string {
  return `weld-analysis-${isoDate(date)}-${findVerdict(report)?.kind ?? 'report'}.md`
}

/** `weld-answer-2026-12-01.md`. */
export function answerFileName(date: Date): string {
  return `weld-answer-${isoDate(date)}.md`
}

export interface AnalysisDocument {
  title: string
  /** E.g. "1 December 2026, 14:05". */
  when: string
  /** "Note: …", or nothing when there was no note. */
  note?: string
  /** "Photos: 3". */
  photos: string
  report: string
}

/** A whole analysis as one Markdown document: a title, when, the note, the photo count, the report. */
export function analysisMarkdown(doc: AnalysisDocument): string {
  const head = [`# ${doc.title}`, '', `*${doc.when}* · ${doc.photos}`]
  if (doc.note) head.push('', doc.note)
  return `${[...head, '', '---', '', doc.report.trim()].join('\n')}\n`
}
