// ESLint for the whole repo (flat config): JavaScript's and typescript-eslint's recommended rules,
// React's hook rules for the dashboard. `npm run lint` runs it with zero warnings allowed, and
// `npm test` runs it first.
import js from '@eslint/js';
import reactHooks from 'eslint-plugin-react-hooks';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      '**/node_modules/**',
      '**/dist/**',
      '**/coverage/**',
      '**/test-results/**',
      '**/*.d.ts',
      // A plugin that fails to parse on purpose (the agent reports it and runs on).
      'packages/agent/test/fixtures/plugins/broken-entry/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // `_`-named bindings are the ones left out on purpose (`const { secret: _secret, ...rest } = x`).
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
    },
  },
  {
    // CommonJS files, and the agent: it loads some modules with require() where they are first
    // needed (ws, pino, node:https, node:tls...), to keep them off the host's start-up.
    files: ['**/*.cjs', 'packages/agent/src/**/*.ts', 'packages/agent/test/fixtures/**/*.js', 'bench/plugins/**/*.js'],
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    files: ['apps/dashboard/src/**/*.{ts,tsx}'],
    languageOptions: { globals: { ...globals.browser } },
    plugins: { 'react-hooks': reactHooks },
    rules: {
      ...reactHooks.configs.flat.recommended.rules,
      // Off: the effects that set state at once here start a request (its `loading` state) or
      // apply a live value to fetched data; state that follows a prop is adjusted while rendering.
      'react-hooks/set-state-in-effect': 'off',
    },
  },
);
