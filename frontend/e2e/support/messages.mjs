// The UI texts the tests look for, read from the app's own dictionaries
// (src/i18n/*.ts), so a reworded message does not need a test change and a
// missing one fails.
import { readFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const I18N = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'i18n')

/** Evaluates the object literal of `export const <name>[: T] = { ... }` in a dictionary file. */
function loadDictionary(file, name) {
  const source = readFileSync(resolve(I18N, file), 'utf8')
  const head = new RegExp(`export const ${name}\\b[^=]*=\\s*\\{`).exec(source)
  // The literal ends at the first line that starts with its closing brace.
  const end = head ? source.indexOf('\n}', head.index) : -1
  if (!head || end === -1) throw new Error(`cannot find the ${name} dictionary in ${file}`)
  const literal = source.slice(head.index + head[0].length - 1, end + 2)
  // The literal holds only string keys and string values.
  const dictionary = new Function(`return (${literal})`)()
  return new Proxy(dictionary, {
    get(target, key) {
      if (typeof key === 'string' && !(key in target)) throw new Error(`no message ${key} in ${file}`)
      return target[key]
    },
  })
}

export const ru = loadDictionary('ru.ts', 'ru')
export const en = loadDictionary('en.ts', 'en')
/** The messages of error codes, keyed by the code. */
export const ruErrors = loadDictionary('ru.ts', 'ruErrors')
export const enErrors = loadDictionary('en.ts', 'enErrors')
