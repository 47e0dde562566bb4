import { resolve } from 'node:path';
import { type Args, str } from './cli/spec.js';

/** The fleet's state folder: `--home`, else `FLOTILLA_HOME`, else `.flotilla` (absolute). */
export function fleetHome(args?: Args): string {
  return resolve((args && str(args, 'home')) ?? process.env.FLOTILLA_HOME ?? '.flotilla');
}
