import { closeSync, fstatSync, openSync, readFileSync } from 'node:fs';
import { ConfigError } from '@flotilla/kit';

/** Whether a file mode lets group or others read, write or run it. */
export function openToOthers(mode: number): boolean {
  return (mode & 0o077) !== 0;
}

/**
 * Reads a file and says whether only its owner may read it (mode 0600 or stricter). It is
 * opened once and checked through the open descriptor (fstat), so the mode checked is the
 * mode of the bytes read.
 */
export function readWithMode(
  path: string,
  setting: string,
): { text: string; private: boolean; mode: number } {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw new Error('not a regular file');
    const mode = stat.mode & 0o777;
    return { text: readFileSync(fd, 'utf8'), private: !openToOthers(mode), mode };
  } catch (err) {
    throw new ConfigError(setting, `${setting}: cannot read ${path} (${(err as Error).message})`);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** `0644` for messages. */
export function octal(mode: number): string {
  return `0${mode.toString(8).padStart(3, '0')}`;
}

/** Reads a file that holds secrets: refused unless only its owner may read it. */
export function readPrivateFile(path: string, setting: string): string {
  const file = readWithMode(path, setting);
  if (!file.private) {
    throw new ConfigError(
      setting,
      `${setting}: ${path} holds secrets but has mode ${octal(file.mode)}; make it 0600 (chmod 600 ${path})`,
    );
  }
  return file.text;
}
