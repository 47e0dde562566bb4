import { spawnSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError, loadConfig, Type } from '@flotilla/kit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tempHome } from './helpers.js';

const extra = Type.Object({ GREETING: Type.String({ default: 'hi', minLength: 1 }) });

describe('configuration', () => {
  let home: Awaited<ReturnType<typeof tempHome>>;
  beforeEach(async () => {
    home = await tempHome();
  });
  afterEach(() => home.remove());

  it('applies defaults, coerces numbers and freezes the result', () => {
    const config = loadConfig(extra, { PORT: '8080', UNRELATED: 'x' });
    expect(config).toMatchObject({ PORT: 8080, HOST: '127.0.0.1', LOG_LEVEL: 'info', GREETING: 'hi' });
    expect(Object.isFrozen(config)).toBe(true);
    expect('UNRELATED' in config).toBe(false);
  });

  it.each([
    [{ PORT: 'abc' }, 'PORT', 'PORT must be integer (got "abc")'],
    [{ PORT: '70000' }, 'PORT', 'PORT must be <= 65535 (got 70000)'],
    [
      { LOG_LEVEL: 'loud' },
      'LOG_LEVEL',
      'LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent (got "loud")',
    ],
    [
      { DATABASE_URL: 'mysql://u:p@h/db' },
      'DATABASE_URL',
      'DATABASE_URL must match pattern "^postgres(ql)?://" (got "***")',
    ],
  ])('refuses %j naming the setting', (env, setting, message) => {
    try {
      loadConfig(extra, env);
      expect.unreachable('loadConfig accepted a bad value');
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).setting).toBe(setting);
      expect((err as Error).message).toBe(message);
    }
  });

  it('reads a YAML file named by FLOTILLA_CONFIG, the environment winning', async () => {
    const file = join(home.dir, 'svc.yaml');
    await writeFile(file, 'PORT: 9000\nGREETING: from-file\n');
    expect(loadConfig(extra, { FLOTILLA_CONFIG: file })).toMatchObject({ PORT: 9000, GREETING: 'from-file' });
    expect(loadConfig(extra, { FLOTILLA_CONFIG: file, PORT: '9001' })).toMatchObject({ PORT: 9001 });
  });

  it('refuses an unknown key in the file', async () => {
    const file = join(home.dir, 'svc.yaml');
    await writeFile(file, 'PROT: 9000\n');
    expect(() => loadConfig(extra, { FLOTILLA_CONFIG: file })).toThrow(`PROT: unknown setting in ${file}`);
  });

  it('makes a service process print one line naming the setting and exit non-zero', () => {
    const result = spawnSync(
      process.execPath,
      ['--import', 'tsx', join(import.meta.dirname, 'fixtures', 'sample-main.ts')],
      {
        env: { ...process.env, PORT: 'not-a-port', FLOTILLA_HOME: home.dir, DATABASE_URL: '' },
        encoding: 'utf8',
        timeout: 30_000,
      },
    );
    expect(result.status).toBe(78);
    const lines = result.stderr
      .split('\n')
      .filter((l) => l && !l.includes('Warning') && !l.includes('--trace-warnings'));
    expect(lines).toEqual(['sample: invalid configuration: PORT must be integer (got "not-a-port")']);
    expect(result.stdout).toBe('');
  });
});
