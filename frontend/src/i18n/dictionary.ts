// The dictionary type: exactly the keys of the Russian dictionary, any string values.
import type { ru } from './ru'

export type { ErrorMessages } from './ru'
export type MessageKey = keyof typeof ru
export type Dictionary = Record<MessageKey, string>
export type MessageParams = Record<string, string | number>

/** Replaces each `{name}` in `template` by `params.name`; unknown names stay as they are. */
export function format(template: string, params?: MessageParams): string {
  if (!params) return template
  return template.replace(/\{(\w+)\}/g, (whole, name: string) =>
    Object.hasOwn(params, name) ? String(params[name]) : whole,
  )
}
