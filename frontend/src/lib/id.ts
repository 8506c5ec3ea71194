// Ids for things the browser makes: chat messages, chosen photos, saved analyses.

let counter = 0
/** Unique enough for React keys; crypto.randomUUID is missing on plain-HTTP pages. */
export function newId(): string {
  counter += 1
  return `${Date.now().toString(36)}-${counter.toString(36)}`
}
