import { FlotillaError } from '@flotilla/errors';

/**
 * The command line is wrong (an unknown flag, a missing argument): `FLT_USAGE`, exit 2.
 * `hint` says what to do about it, on a line of its own.
 *
 * @example
 * throw new UsageError('unknown flag "--fiel" for "flotilla up"', 'did you mean --file?');
 */
export class UsageError extends FlotillaError {
  readonly hint: string | undefined;
  constructor(message: string, hint?: string) {
    super('FLT_USAGE', message);
    this.name = 'UsageError';
    this.hint = hint;
  }
}
