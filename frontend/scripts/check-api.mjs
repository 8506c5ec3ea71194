// Fails when src/api/schema.gen.ts is not what openapi-typescript generates
// from ../openapi/openapi.json today. Run by `npm run check:api`.
import { execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const spec = resolve(root, '../openapi/openapi.json')
const committed = resolve(root, 'src/api/schema.gen.ts')

if (!existsSync(spec)) {
  console.error(`check:api: ${spec} does not exist; nothing to compare against.`)
  process.exit(1)
}

const dir = mkdtempSync(join(tmpdir(), 'weld-api-'))
const fresh = join(dir, 'schema.gen.ts')
try {
  execFileSync(
    process.execPath,
    [resolve(root, 'node_modules/openapi-typescript/bin/cli.js'), spec, '-o', fresh],
    { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] },
  )
  const current = existsSync(committed) ? readFileSync(committed, 'utf8') : null
  if (current !== readFileSync(fresh, 'utf8')) {
    console.error(
      current === null
        ? 'check:api: src/api/schema.gen.ts is missing. Run `npm run gen:api` and commit the result.'
        : 'check:api: src/api/schema.gen.ts is stale (openapi/openapi.json changed). Run `npm run gen:api` and commit the result.',
    )
    process.exit(1)
  }
  console.log('check:api: src/api/schema.gen.ts matches openapi/openapi.json.')
} finally {
  rmSync(dir, { recursive: true, force: true })
}
