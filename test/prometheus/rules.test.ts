// The alert rules under deploy/prometheus: each rule file passes `promtool check rules`, each
// unit-test file passes `promtool test rules`, and every runbook link names a section of
// docs/runbooks.md. Skipped (with a warning) where promtool is not installed.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { findPromtool, promtool } from './promtool.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const PROMETHEUS = join(REPO, 'deploy/prometheus');
const yamlIn = (dir: string) =>
  readdirSync(join(PROMETHEUS, dir))
    .filter((f) => f.endsWith('.yml'))
    .sort();
const RULE_FILES = yamlIn('rules');
const TEST_FILES = yamlIn('tests');
const hasPromtool = findPromtool() !== undefined;

describe('Prometheus alert rules', () => {
  it('has a rule file per area and a test file per rule file', () => {
    expect(RULE_FILES).toEqual(
      ['auth', 'availability', 'edge', 'identity', 'kms-storage', 'messaging', 'slo'].map((a) => `${a}.yml`),
    );
    expect(TEST_FILES).toEqual(RULE_FILES.map((f) => f.replace(/\.yml$/, '.test.yml')));
  });

  it('links every alert to a section of docs/runbooks.md', () => {
    const headings = new Set(
      [...readFileSync(join(REPO, 'docs/runbooks.md'), 'utf8').matchAll(/^#{2,4} (.+)$/gm)].map((m) =>
        m[1]!.trim().toLowerCase(),
      ),
    );
    for (const file of RULE_FILES) {
      const text = readFileSync(join(PROMETHEUS, 'rules', file), 'utf8');
      const alerts = [...text.matchAll(/- alert: (\w+)/g)].map((m) => m[1]!);
      const links = [...text.matchAll(/runbook_url: docs\/runbooks\.md#(\S+)/g)].map((m) => m[1]!);
      expect(links, file).toEqual(alerts.map((a) => a.toLowerCase()));
      for (const anchor of links) expect(headings.has(anchor), `${file}: #${anchor}`).toBe(true);
    }
  });

  describe.skipIf(!hasPromtool)('with promtool', () => {
    it.each(RULE_FILES)('promtool check rules rules/%s', (file) => {
      const run = promtool(['check', 'rules', join('rules', file)], { cwd: PROMETHEUS });
      expect(run.status, run.output).toBe(0);
    });

    it.each(TEST_FILES)('promtool test rules tests/%s', (file) => {
      const run = promtool(['test', 'rules', join('tests', file)], { cwd: PROMETHEUS });
      expect(run.status, run.output).toBe(0);
    });
  });
});
