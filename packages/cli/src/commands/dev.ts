import { run as up } from './up.js';

/** `flotilla dev`: `flotilla up` with live reload. */
export function run(argv: string[]): Promise<number> {
  return up(argv, { dev: true });
}
