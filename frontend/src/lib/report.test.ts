import { describe, expect, it } from 'vitest'
import { analysisFileName, analysisMarkdown, findVerdict, isoDate, reportSummary } from './report'

describe('findVerdict', () => {
  it('reads the verdict section in Russian and English', () => {
    expect(findVerdict('## Дефекты\n\n- нет\n\n## 4. Вердикт\n\n**Допустимо.** Шов ровный.')).toEqual({
      kind: 'ok',
      line: 'Допустимо. Шов ровный.',
    })
    expect(findVerdict('## Verdict\n\nNeeds rework: undercut along the toe.')?.kind).toBe('rework')
    expect(findVerdict('**Verdict:** Reject — crack in the crater.')).toEqual({
      kind: 'reject',
      line: 'Reject — crack in the crater.',
    })
  })

  it('does not read "недопустимо" or "не годен" as acceptable', () => {
    expect(findVerdict('## Вердикт\n\nНедопустимо: трещина.')?.kind).toBe('reject')
    expect(findVerdict('## Заключение\n\nШов не годен.')?.kind).toBe('reject')
  })

  it('gives null without a verdict, and a line without a known outcome', () => {
    expect(findVerdict('## Дефекты\n\n- Подрез.')).toBeNull()
    expect(findVerdict('## Вердикт\n\nФото слишком тёмное, судить нельзя.')).toEqual({
      kind: null,
      line: 'Фото слишком тёмное, судить нельзя.',
    })
  })
})

describe('file names and Markdown', () => {
  const date = new Date(2026, 11, 1, 14, 5)

  it('names the file after the local date and the verdict, or "report"', () => {
    expect(isoDate(date)).toBe('2026-12-01')
    expect(analysisFileName(date, '## Verdict\n\nAcceptable.')).toBe('weld-analysis-2026-12-01-ok.md')
    expect(analysisFileName(date, 'Шов без замечаний.')).toBe('weld-analysis-2026-12-01-report.md')
  })

  it('writes a title, date, photo count, note and the report', () => {
    expect(
      analysisMarkdown({ title: 'Анализ', when: '1 декабря', photos: 'фото: 2', note: '**Заметка:** MIG', report: '## Отчёт\n' }),
    ).toBe('# Анализ\n\n*1 декабря* · фото: 2\n\n**Заметка:** MIG\n\n---\n\n## Отчёт\n')
  })
})

describe('reportSummary', () => {
  it('shows the opening of a report without Markdown syntax', () => {
    const report = '## Оценка шва\n\n**Пористость** обнаружена в `корне`, см. [ГОСТ](https://example.org).\n\n- Подрез _0,5 мм_'
    expect(reportSummary(report, 200)).toBe('Оценка шва Пористость обнаружена в корне, см. ГОСТ. Подрез 0,5 мм')
  })

  it('cuts a long opening with an ellipsis', () => {
    const summary = reportSummary('a'.repeat(100), 80)
    expect(summary).toHaveLength(80)
    expect(summary.endsWith('…')).toBe(true)
  })
})
