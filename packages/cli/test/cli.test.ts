import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { commandReference } from '../src/cli/reference.js';
import type { CommandSpec } from '../src/cli/spec.js';
import { UsageError } from '../src/cli/usage-error.js';
import { COMMANDS } from '../src/commands/table.js';
import { main } from '../src/index.js';
import { printError, reportError } from '../src/output.js';

/** One CLI invocation through its entry, with what it printed. */
async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(`${a.join(' ')}\n`));
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out.push(String(chunk));
    return true;
  });
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    err.push(String(chunk));
    return true;
  });
  try {
    return { code: await main(argv), out: out.join(''), err: err.join('') };
  } finally {
    vi.restoreAllMocks();
  }
}

/** Every command and subcommand of the table, as typed. */
function paths(commands: readonly CommandSpec[], prefix: string[] = []): string[][] {
  return commands.flatMap((c) => [[...prefix, c.name], ...paths(c.subcommands ?? [], [...prefix, c.name])]);
}

const every = paths(COMMANDS);

describe('every command and subcommand', () => {
  it('is in the table (and the walk below sees all of them)', () => {
    expect(every.map((p) => p.join(' '))).toEqual(
      expect.arrayContaining([
        'up',
        'status',
        'logs',
        'ca token',
        'audit verify',
        'users list',
        'completion zsh',
      ]),
    );
    expect(every.length).toBeGreaterThan(30);
  });

  it.each(every.map((p) => [p.join(' '), p] as const))(
    '%s --help prints its usage and exits 0',
    async (_, path) => {
      for (const help of ['--help', '-h']) {
        const { code, out, err } = await cli(...path, help);
        expect(err).toBe('');
        expect(code).toBe(0);
        expect(out).toContain(`Usage:\n  flotilla ${path.join(' ')}`);
        expect(out).toContain('-h, --help');
      }
    },
  );

  it.each(every.map((p) => [p.join(' '), p] as const))(
    '%s with an unknown flag exits 2 naming it, and runs nothing',
    async (_, path) => {
      const { code, out, err } = await cli(...path, '--no-such-flag');
      expect(code).toBe(2);
      expect(out).toBe('');
      expect(err).toMatch(/^flotilla: unknown flag "--no-such-flag" for "flotilla [^"]+"\n {2}\S.*--help/);
      expect(err.trimEnd().split('\n')).toHaveLength(2); // one line, and a hint
    },
  );
});

describe('the command line', () => {
  it('suggests the flag meant', async () => {
    const { code, err } = await cli('up', '--fiel', 'x.yaml');
    expect(code).toBe(2);
    expect(err).toBe(
      'flotilla: unknown flag "--fiel" for "flotilla up"\n  did you mean --file? Run "flotilla up --help" for its flags\n',
    );
  });

  it('names an unknown command and suggests the one meant', async () => {
    expect(await cli('stauts')).toMatchObject({
      code: 2,
      err: expect.stringContaining('did you mean "status"?'),
    });
    expect(await cli('ca', 'tokn')).toMatchObject({
      code: 2,
      err: expect.stringContaining('unknown command "tokn" for "flotilla ca"'),
    });
  });

  it('refuses a missing argument, a value outside the choices, and arguments too many', async () => {
    expect(await cli('ca', 'token')).toMatchObject({
      code: 2,
      err: expect.stringContaining('needs <service>'),
    });
    expect(await cli('status', '-o', 'yaml')).toMatchObject({
      code: 2,
      err: expect.stringContaining('--output must be one of table, json (got "yaml")'),
    });
    expect(await cli('control', 'now')).toMatchObject({
      code: 2,
      err: expect.stringContaining('"flotilla control" takes no argument (got "now")'),
    });
    expect(await cli('up', '--file')).toMatchObject({
      code: 2,
      err: expect.stringContaining('--file needs a value'),
    });
  });

  it('prints its version, and its help without a command (exit 2) or with one (exit 0)', async () => {
    expect(await cli('--version')).toMatchObject({
      code: 0,
      out: expect.stringMatching(/^flotilla \d+\.\d+\.\d+\n$/),
    });
    expect(await cli()).toMatchObject({ code: 2, out: expect.stringContaining('Commands:') });
    expect(await cli('help')).toMatchObject({ code: 0, out: expect.stringContaining('Commands:') });
    expect(await cli('help', 'ca', 'rotate')).toMatchObject({
      code: 0,
      out: expect.stringContaining('flotilla ca rotate [flags]'),
    });
  });
});

describe('errors', () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('name a fleet file problem by file and line, and exit 1', async () => {
    dir = await mkdtemp(join(tmpdir(), 'flotilla-cli-'));
    const file = join(dir, 'flotilla.yaml');
    await writeFile(file, 'version: 1\nname: x\nreplicas: 2\n');
    const { code, err } = await cli('up', '--file', file, '--home', join(dir, 'home'));
    expect(code).toBe(1);
    expect(err).toBe(`flotilla: ${file}:1: missing required key "auth"\n`);
  });

  it('keep every line of a message, the first after "flotilla: ", the others indented', () => {
    const err: string[] = [];
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      err.push(String(chunk));
      return true;
    });
    try {
      printError('policies/videos.cedar:3: unexpected token\npolicies/videos.cedar:9: unknown action\n');
      reportError(new UsageError('unknown flag "--x" for "flotilla up"', 'Run "flotilla up --help"'));
    } finally {
      vi.restoreAllMocks();
    }
    expect(err.join('')).toBe(
      'flotilla: policies/videos.cedar:3: unexpected token\n  policies/videos.cedar:9: unknown action\n' +
        'flotilla: unknown flag "--x" for "flotilla up"\n  Run "flotilla up --help"\n',
    );
  });

  it('audit verify reads the audit trail of FLOTILLA_HOME', async () => {
    dir = await mkdtemp(join(tmpdir(), 'flotilla-cli-'));
    vi.stubEnv('FLOTILLA_HOME', dir);
    try {
      const { code, err } = await cli('audit', 'verify');
      expect(code).toBe(1);
      expect(err).toBe(`flotilla: no audit trail found at ${join(dir, 'audit')}\n`);
    } finally {
      vi.unstubAllEnvs();
    }
  });
});

describe('shell completion, from the command table', () => {
  it('bash: a script bash accepts, offering commands, subcommands, flags and choices', async () => {
    const { code, out } = await cli('completion', 'bash');
    expect(code).toBe(0);
    const probe = `${out}
t() { COMP_WORDS=("$@"); COMP_CWORD=$((\${#COMP_WORDS[@]} - 1)); _flotilla; echo "\${COMPREPLY[*]}"; }
t flotilla st; t flotilla ca ''; t flotilla logs --se; t flotilla status -o ''`;
    const { stdout } = await promisify(execFile)('bash', ['-c', probe]);
    expect(stdout.split('\n')).toEqual([
      'status storage',
      'token sign revoke bundle rotate',
      '--service',
      'table json',
      '',
    ]);
  });

  it('zsh: every command with its description', async () => {
    const { code, out } = await cli('completion', 'zsh');
    expect(code).toBe(0);
    expect(out).toMatch(/^#compdef flotilla\n/);
    for (const c of COMMANDS) expect(out).toContain(`'${c.name}:${c.summary.replaceAll("'", `'\\''`)}'`);
    expect(out).toContain("'ca rotate') printf '%s\\n' '--intermediate:");
  });
});

describe('the README', () => {
  /** Markdown as the reader sees it: table cells trimmed, however Prettier aligned them. */
  const normalise = (text: string) =>
    text
      .split('\n')
      .map((line) =>
        line.startsWith('|')
          ? line
              .split(/(?<!\\)\|/)
              .map((cell) => cell.trim().replace(/^-+$/, '---'))
              .join('|')
          : line.trimEnd(),
      )
      .filter((line) => line !== '')
      .join('\n');

  it('documents every command, its arguments, flags and examples, as the table declares them', async () => {
    const readme = await readFile(join(import.meta.dirname, '..', 'README.md'), 'utf8');
    const begin = '<!-- commands: generated from src/commands/table.ts -->';
    const section = readme.slice(
      readme.indexOf(begin) + begin.length,
      readme.indexOf('<!-- end of commands -->'),
    );
    // Out of step: npx tsx packages/cli/scripts/write-readme.ts && npx prettier --write packages/cli/README.md
    expect(normalise(section)).toBe(normalise(commandReference(COMMANDS)));
  });
});
