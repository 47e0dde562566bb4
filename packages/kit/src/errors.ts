import { type ErrorCode, errorCodes } from './error-codes.js';

export interface FieldError {
  /** JSON pointer-like location, e.g. `body/title` or `query/limit`. */
  field: string;
  message: string;
}

/**
 * The one error base of Flotilla. `code` is stable, `status` is what a client sees,
 * `retryable` tells a caller across services whether trying again can help.
 *
 * @example
 * throw new FlotillaError('NOT_FOUND', `video ${id} does not exist`);
 */
export class FlotillaError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly retryable: boolean;
  readonly errors: FieldError[] | undefined;
  /** Extra response headers (e.g. `Retry-After`, `WWW-Authenticate`). */
  readonly headers: Record<string, string> | undefined;

  constructor(
    code: ErrorCode,
    detail?: string,
    opts: {
      cause?: unknown;
      errors?: FieldError[];
      retryable?: boolean;
      headers?: Record<string, string>;
    } = {},
  ) {
    super(detail ?? errorCodes[code].title, { cause: opts.cause });
    this.name = 'FlotillaError';
    this.code = code;
    this.status = errorCodes[code].status;
    this.retryable = opts.retryable ?? this.status >= 500;
    this.errors = opts.errors;
    this.headers = opts.headers;
  }
}

/** Raised when configuration does not match its schema; the message names the setting. */
export class ConfigError extends Error {
  readonly setting: string;
  constructor(setting: string, message: string) {
    super(message);
    this.name = 'ConfigError';
    this.setting = setting;
  }
}
