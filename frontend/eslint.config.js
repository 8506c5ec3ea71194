// ESLint flat config: typescript-eslint (type-aware), the React hooks rules, and
// the layering of src/ (see README.md, "Layout"): app → features → shared.
import js from '@eslint/js'
import reactHooks from 'eslint-plugin-react-hooks'
import globals from 'globals'
import tseslint from 'typescript-eslint'

/** The folders under src/features. */
const FEATURES = ['analysis', 'chat']
/** The shared layers: they import neither a feature nor the app shell. */
const SHARED = ['api', 'components', 'hooks', 'i18n', 'lib', 'pwa', 'test']

const noAppImports = {
  group: ['**/app', '**/app/*'],
  message: 'Only main.tsx imports the app shell (src/app).',
}

/** A feature imports shared code and itself, never another feature or the app shell. */
const featureLayers = FEATURES.map((feature) => ({
  files: [`src/features/${feature}/**`],
  rules: {
    'no-restricted-imports': [
      'error',
      {
        patterns: [
          {
            group: FEATURES.filter((other) => other !== feature).flatMap((other) => [
              `../${other}`,
              `../${other}/*`,
              `**/features/${other}`,
              `**/features/${other}/*`,
            ]),
            message: 'A feature never imports another feature; the app shell (src/app) wires them together.',
          },
          noAppImports,
        ],
      },
    ],
  },
}))

export default tseslint.config(
  { ignores: ['dist', 'coverage', 'node_modules', 'src/api/schema.gen.ts'] },
  {
    files: ['**/*.{ts,tsx}'],
    extends: [js.configs.recommended, ...tseslint.configs.strictTypeChecked, reactHooks.configs.flat.recommended],
    languageOptions: {
      ecmaVersion: 2022,
      globals: globals.browser,
      parserOptions: {
        projectService: true,
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true }],
      '@typescript-eslint/no-confusing-void-expression': ['error', { ignoreArrowShorthand: true }],
      'no-restricted-globals': [
        'error',
        { name: 'fetch', message: 'Only src/api/client.ts talks HTTP.' },
      ],
    },
  },
  {
    files: ['src/api/client.ts', 'src/test/**', '**/*.test.{ts,tsx}'],
    rules: { 'no-restricted-globals': 'off' },
  },
  ...featureLayers,
  {
    files: SHARED.map((layer) => `src/${layer}/**`),
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/features', '**/features/*'],
              message: 'Shared code (api, components, hooks, i18n, lib, pwa, test) imports no feature.',
            },
            noAppImports,
          ],
        },
      ],
    },
  },
  {
    files: ['**/*.{js,mjs}'],
    extends: [js.configs.recommended],
    languageOptions: { globals: globals.node },
  },
  {
    // The service worker runs in its own global scope (typechecked by tsconfig.sw.json).
    files: ['src/pwa/sw.js'],
    languageOptions: { globals: globals.serviceworker },
  },
)
