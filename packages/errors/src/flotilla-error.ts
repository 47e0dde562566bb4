import { type ErrorCode, errorCodes, isErrorCode } from './codes.js';

export interface FieldError {
  /** JSON pointer-like location, e.g. `body/title` or `query/limit`. */
  field: string;
  message: string;
}

export interface FlotillaErrorOptions {
  cause?: unknown;
  errors?: FieldError[];
  retryable?: boolean;
  headers?: Record<string, string>;
}

/**
 * The one error base of Flotilla. `code` is stable (`FLT_…`, docs/errors.md), `status`
 * is what a client sees, `retryable` tells a caller across services whether trying
 * again can help. Every error the platform raises is this class or a subclass of it.
 *
 * @example
 * throw new FlotillaError('FLT_NOT_FOUND', `video ${id} does not exist`);
 */
export class FlotillaError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly retryable: boolean;
  readonly errors: FieldError[] | undefined;
  /** Extra response headers (e.g. `Retry-After`, `WWW-Authenticate`). */
  readonly headers: Record<string, string> | undefined;

  constructor(code: ErrorCode, detail?: string, opts: FlotillaErrorOptions = {}) {
    super(detail ?? errorCodes[code].title, { cause: opts.cause });
    this.name = 'FlotillaError';
    this.code = code;
    this.status = errorCodes[code].status;
    this.retryable = opts.retryable ?? this.status >= 500;
    this.errors = opts.errors;
    this.headers = opts.headers;
  }

  /**
   * Rebuilds the error another service sent as problem+json (errors cross services as
   * data). An unknown or missing code becomes `FLT_UPSTREAM_FAILED`: a caller never
   * trusts a peer to pick its status.
   */
  static fromProblem(body: unknown, opts: FlotillaErrorOptions = {}): FlotillaError {
    const problem = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
    const code = isErrorCode(problem.code) ? problem.code : 'FLT_UPSTREAM_FAILED';
    const detail = typeof problem.detail === 'string' ? problem.detail : undefined;
    return new FlotillaError(code, detail, opts);
  }
}

/** Raised when configuration does not match its schema; the message names the setting. */
export class ConfigError extends FlotillaError {
  readonly setting: string;
  constructor(setting: string, message: string, opts: FlotillaErrorOptions = {}) {
    super('FLT_CONFIG_INVALID', message, opts);
    this.name = 'ConfigError';
    this.setting = setting;
  }
}
