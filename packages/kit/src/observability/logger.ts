import { type Logger, type LoggerOptions, pino } from 'pino';
import { currentTrace } from './trace.js';

/** Paths whose values never reach a log line. */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers["proxy-authorization"]',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'req.headers["x-flotilla-caller"]',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers.cookie',
  ...[
    'password',
    'token',
    'access_token',
    'refresh_token',
    'id_token',
    'client_secret',
    'secret',
    'privateKey',
    'private_key',
    'key',
    'kek',
    'joinToken',
  ].flatMap((k) => [k, `*.${k}`, `*.*.${k}`]),
];

const SECRET_QUERY =
  /([?&](?:access_token|refresh_token|id_token|token|code|client_secret|password|state)=)[^&#]*/gi;

/**
 * Strips secret query parameter values (e.g. `?access_token=`) from a URL before it is logged.
 *
 * @example
 * redactUrl('/cb?code=abc&state=xyz&page=2'); // '/cb?code=[REDACTED]&state=[REDACTED]&page=2'
 */
export function redactUrl(url: string): string {
  return url.replace(SECRET_QUERY, '$1[REDACTED]');
}

/**
 * The pino logger of a service: JSON lines with the service's name, ISO times, the
 * request and trace ids of the request being handled, and secrets (`REDACT_PATHS`, secret
 * query parameters) replaced by `[REDACTED]`. `defineService` makes one; tools use it too.
 *
 * @example
 * const log = createLogger('notes', 'info');
 * log.info({ req: { method: 'GET', url: '/cb?code=abc', headers: {} } }, 'callback'); // url: /cb?code=[REDACTED]
 */
export function createLogger(service: string, level: string, destination?: pino.DestinationStream): Logger {
  const options: LoggerOptions = {
    level,
    base: { service, pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: REDACT_PATHS, censor: '[REDACTED]' },
    // Every line logged while handling a request carries its ids, whichever logger wrote it.
    mixin() {
      const trace = currentTrace();
      return trace ? { requestId: trace.requestId, traceId: trace.traceId } : {};
    },
    serializers: {
      req: (req: {
        method: string;
        url: string;
        headers: Record<string, unknown>;
        socket?: { remoteAddress?: string };
      }) => ({
        method: req.method,
        url: redactUrl(req.url),
        headers: req.headers,
        remoteAddress: req.socket?.remoteAddress,
      }),
      err: pino.stdSerializers.err,
    },
  };
  return destination ? pino(options, destination) : pino(options);
}
