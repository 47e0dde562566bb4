// Proves that the package-boundary rules of eslint.config.js fire: each sample below is
// linted as if it were a file at `path`, with the repository's own configuration, and must
// draw exactly the rules listed (none for the samples that are allowed). A rule that
// cannot fail is a defect; this check fails instead. Run by `npm run lint`.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { ESLint } from 'eslint';
import tseslint from 'typescript-eslint';

const root = import.meta.dirname;

const BOUNDARY_RULES = new Set([
  'import-x/no-relative-packages',
  'import-x/no-extraneous-dependencies',
  'no-restricted-imports',
]);

/** `path` is where the sample pretends to be; `fires` the boundary rules it must draw. */
const samples = [
  // (a) no reaching into another package's tests or sources
  {
    what: "a relative path into another package's tests",
    path: 'services/control/test/sample.test.ts',
    code: "import { tempHome } from '../../../packages/kit/test/helpers.js';\nvoid tempHome;\n",
    fires: ['import-x/no-relative-packages'],
  },
  {
    what: "a relative path into another package's sources",
    path: 'services/gateway/src/sample.ts',
    code: "import { FlotillaError } from '../../../packages/kit/src/errors/index.js';\nvoid FlotillaError;\n",
    fires: ['import-x/no-relative-packages'],
  },
  {
    what: "a package's src/ by name",
    path: 'services/gateway/src/sample.ts',
    code: "import { FlotillaError } from '@flotilla/kit/src/errors/index.js';\nvoid FlotillaError;\n",
    fires: ['no-restricted-imports'],
  },
  {
    what: "a package's test/ by name",
    path: 'services/control/test/sample.test.ts',
    code: "import { tempHome } from '@flotilla/kit/test/helpers.js';\nvoid tempHome;\n",
    fires: ['no-restricted-imports'],
  },
  {
    what: 'a subpath the package exports',
    path: 'services/gateway/src/sample.ts',
    code: "export * from '@flotilla/kit/contracts';\n",
    fires: [],
  },
  {
    what: "a package's tests using its own sources",
    path: 'packages/kit/test/sample.test.ts',
    code: "import { openHostedDb } from '../src/db/hosted.js';\nvoid openHostedDb;\n",
    fires: [],
  },
  // (b) every import declared in the importing package's package.json
  {
    what: 'a workspace package the importer does not declare',
    path: 'packages/testing/src/sample.ts',
    code: "import { main } from '@flotilla/cli';\nvoid main;\n",
    fires: ['import-x/no-extraneous-dependencies'],
  },
  {
    what: 'a third-party package the importer does not declare (hoisted by npm all the same)',
    path: 'packages/policy/src/sample.ts',
    code: "import { pino } from 'pino';\nvoid pino;\n",
    fires: ['import-x/no-extraneous-dependencies'],
  },
  {
    what: 'types from an undeclared package',
    path: 'packages/policy/src/sample.ts',
    code: "import type { Logger } from 'pino';\nexport type L = Logger;\n",
    fires: ['import-x/no-extraneous-dependencies'],
  },
  {
    what: "a devDependency in a package's shipped code",
    path: 'services/auth/src/sample.ts',
    code: "import { stringify } from 'yaml';\nvoid stringify;\n",
    fires: ['import-x/no-extraneous-dependencies'],
  },
  {
    what: 'a declared dependency',
    path: 'services/gateway/src/sample.ts',
    code: "import { FlotillaError } from '@flotilla/kit';\nvoid FlotillaError;\n",
    fires: [],
  },
  {
    what: "the root's test tools in a package's tests",
    path: 'packages/policy/src/sample.test.ts',
    code: "import { expect } from 'vitest';\nvoid expect;\n",
    fires: [],
  },
  {
    what: 'a workspace package in a benchmark (the root declares its workspaces)',
    path: 'bench/kit/sample.ts',
    code: "import { echoService } from '@flotilla/testing';\nvoid echoService;\n",
    fires: [],
  },
  {
    what: 'a third-party package the root does not declare, in a benchmark',
    path: 'bench/kit/sample.ts',
    code: "import Provider from 'oidc-provider';\nvoid Provider;\n",
    fires: ['import-x/no-extraneous-dependencies'],
  },
];

// Samples are not files of the TypeScript project: lint them without type information
// (the boundary rules need none).
const eslint = new ESLint({
  cwd: root,
  overrideConfig: [
    { files: ['**/*.ts'], ...tseslint.configs.disableTypeChecked },
    { files: ['**/*.ts'], languageOptions: { parserOptions: { projectService: false, project: null } } },
  ],
});

let failed = 0;
for (const sample of samples) {
  const [result] = await eslint.lintText(sample.code, { filePath: join(root, sample.path) });
  const fired = (result?.messages ?? []).filter((m) => m.ruleId === null || BOUNDARY_RULES.has(m.ruleId));
  try {
    assert.deepEqual(
      fired.map((m) => m.ruleId),
      sample.fires,
      `${sample.what} (${sample.path}): ${fired.map((m) => m.message).join('; ') || 'nothing reported'}`,
    );
  } catch (err) {
    failed += 1;
    process.stderr.write(`lint rule check failed: ${err instanceof Error ? err.message : String(err)}\n`);
  }
}
if (failed > 0) process.exit(1);
process.stdout.write(`lint boundary rules: ${samples.length} samples drew the rules they must\n`);
