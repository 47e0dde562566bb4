// One lint configuration for the whole monorepo: type-aware rules from typescript-eslint,
// formatting left to Prettier, and package boundaries enforced: a package imports another
// only through its public entry (its package.json `exports`) and declares every package it
// imports. `eslint.config.check.js` (run first by `npm run lint`) proves each boundary rule
// fires on a violating sample.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import { createNodeResolver, importX } from 'eslint-plugin-import-x';
import globals from 'globals';
import tseslint from 'typescript-eslint';

const root = import.meta.dirname;
const readJson = (path) => JSON.parse(readFileSync(path, 'utf8'));

/** The workspaces of the root package.json (`dir/*` patterns or plain folders), relative to the root. */
function workspaces() {
  return readJson(join(root, 'package.json')).workspaces.flatMap((pattern) => {
    if (!pattern.endsWith('/*')) return [pattern];
    const parent = pattern.slice(0, -2);
    return readdirSync(join(root, parent), { withFileTypes: true })
      .filter((e) => e.isDirectory() && hasPackageJson(join(parent, e.name)))
      .map((e) => `${parent}/${e.name}`);
  });
}
const hasPackageJson = (dir) => readdirSync(join(root, dir)).includes('package.json');

const packages = workspaces().map((dir) => ({ dir, manifest: readJson(join(root, dir, 'package.json')) }));

/**
 * Every subpath of a workspace package except those its `exports` names: `@flotilla/kit/src/…`,
 * `@flotilla/kit/test/…` and any other deep path are refused; `@flotilla/kit/contracts` is not.
 */
const deepImports = packages.flatMap(({ manifest }) => [
  `${manifest.name}/**`,
  ...Object.keys(manifest.exports ?? {})
    .filter((subpath) => subpath !== '.')
    .map((subpath) => `!${manifest.name}/${subpath.slice(2)}`),
]);

/** Where a workspace keeps code that runs only in development: tests, fixtures, benchmarks, scripts. */
const devFiles = (dir) =>
  ['**/*.test.ts', '**/*.test.tsx', 'test/**', 'e2e/**', 'bench/**', 'scripts/**', '*.config.ts'].map(
    (glob) => `${dir}/${glob}`,
  );

/**
 * Each workspace may import only what its own package.json declares (its public code only
 * its `dependencies`); its tests and scripts may also use the root's devDependencies
 * (vitest, the test tools). Files outside every workspace (bench/, the root's scripts)
 * belong to the root package.
 */
const declaredDependencies = packages.flatMap(({ dir }) => [
  {
    files: [`${dir}/**/*.{ts,tsx,js,mjs}`],
    rules: {
      'import-x/no-extraneous-dependencies': [
        'error',
        { packageDir: [join(root, dir)], devDependencies: false, includeInternal: true, includeTypes: true },
      ],
    },
  },
  {
    files: devFiles(dir),
    rules: {
      'import-x/no-extraneous-dependencies': [
        'error',
        {
          packageDir: [join(root, dir), root],
          devDependencies: true,
          includeInternal: true,
          includeTypes: true,
        },
      ],
    },
  },
]);

export default tseslint.config(
  { ignores: ['**/node_modules/**', '**/dist/**', '.flotilla/**', '**/test-artifacts/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      globals: { ...globals.node },
      parserOptions: {
        projectService: { allowDefaultProject: ['*.js', 'packages/cli/bin/*.js'] },
        tsconfigRootDir: root,
      },
    },
    plugins: { 'import-x': importX },
    settings: {
      // Sources are TypeScript imported as `.js` (NodeNext): resolve them to the `.ts` file.
      'import-x/resolver-next': [
        createNodeResolver({
          extensions: ['.ts', '.tsx', '.js', '.mjs', '.json', '.node'],
          extensionAlias: { '.js': ['.ts', '.tsx', '.js'] },
        }),
      ],
    },
    rules: {
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'warn',
      // Fastify handlers are async by contract even when they do not await.
      '@typescript-eslint/require-await': 'off',
      // A relative path into another package (`../../packages/kit/test/fixtures/x.js`) reaches
      // past its public entry: import it by name, or move what is shared into a package.
      'import-x/no-relative-packages': 'error',
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: deepImports,
              message: "import a package only through its public entry (its package.json 'exports')",
            },
          ],
        },
      ],
      // The root's own files (bench/, scripts): its devDependencies, and every workspace,
      // which its `workspaces` field declares.
      'import-x/no-extraneous-dependencies': [
        'error',
        {
          packageDir: [root],
          devDependencies: true,
          includeInternal: true,
          includeTypes: true,
          whitelist: packages.map(({ manifest }) => manifest.name),
        },
      ],
    },
  },
  ...declaredDependencies,
  {
    files: ['**/*.test.ts', '**/test/**/*.ts', 'bench/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
  { files: ['**/*.js'], ...tseslint.configs.disableTypeChecked },
  prettier,
);
