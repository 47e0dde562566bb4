import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { type ErrorCode, errorCodes, type FieldError, FlotillaError, problemType } from '@flotilla/errors';
import { currentTrace } from '../observability/trace.js';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail?: string;
  instance?: string;
  code: ErrorCode;
  requestId?: string;
  traceId?: string;
  errors?: FieldError[];
}

/** Fastify's own error codes, mapped to ours. */
const fastifyCodes: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'FLT_BODY_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'FLT_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'FLT_BAD_REQUEST',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'FLT_BODY_MALFORMED',
  FST_ERR_CTP_INVALID_JSON_BODY: 'FLT_BODY_MALFORMED',
  FST_ERR_CTP_INVALID_TYPE: 'FLT_MEDIA_TYPE',
  FST_ERR_NOT_FOUND: 'FLT_NOT_FOUND',
};

/** Turns any thrown value into a FlotillaError; unknown errors become INTERNAL. */
export function toFlotillaError(err: unknown): FlotillaError {
  if (err instanceof FlotillaError) return err;
  const fe = err as Partial<FastifyError> & { validation?: unknown[]; validationContext?: string };
  if (Array.isArray(fe.validation)) {
    const errors = fe.validation.map((v) => fieldError(v, fe.validationContext ?? 'body'));
    const first = errors[0];
    return new FlotillaError('FLT_VALIDATION', first ? `${first.field} ${first.message}` : fe.message, {
      errors,
      cause: err,
    });
  }
  const mapped = fe.code ? fastifyCodes[fe.code] : undefined;
  if (mapped) return new FlotillaError(mapped, clientMessage(mapped, fe.message), { cause: err });
  if (err instanceof SyntaxError && fe.statusCode === 400) {
    return new FlotillaError('FLT_BODY_MALFORMED', 'body is not valid JSON', { cause: err });
  }
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    const code = (Object.keys(errorCodes) as ErrorCode[]).find((c) => errorCodes[c].status === fe.statusCode);
    return new FlotillaError(code ?? 'FLT_BAD_REQUEST', fe.message, { cause: err });
  }
  return new FlotillaError('FLT_INTERNAL', undefined, { cause: err });
}

function clientMessage(code: ErrorCode, message: string | undefined): string {
  if (code === 'FLT_BODY_TOO_LARGE') return 'request body is larger than the limit';
  if (code === 'FLT_BODY_MALFORMED') return 'body is not valid JSON';
  return message ?? errorCodes[code].title;
}

function fieldError(v: unknown, context: string): FieldError {
  const item = v as { instancePath?: string; message?: string; params?: Record<string, unknown> };
  const where = context === 'querystring' ? 'query' : context;
  const path = (item.instancePath ?? '').replace(/^\//, '');
  const missing = item.params?.missingProperty;
  const extra = item.params?.additionalProperty;
  const field = [
    where,
    path,
    typeof missing === 'string' ? missing : '',
    typeof extra === 'string' ? extra : '',
  ]
    .filter(Boolean)
    .join('/');
  return { field, message: item.message ?? 'is invalid' };
}

/**
 * Builds the body a client sees. As in oidc-provider, details are exposed only
 * below 500: a 5xx body is generic and the detail stays in the log.
 */
export function toProblem(err: FlotillaError, request?: FastifyRequest): Problem {
  const expose = err.status < 500;
  const problem: Problem = {
    type: problemType(err.code),
    title: errorCodes[err.code].title,
    status: err.status,
    code: err.code,
  };
  if (expose) problem.detail = err.message;
  if (expose && err.errors) problem.errors = err.errors;
  if (request) {
    problem.instance = request.url.split('?')[0] ?? '/';
    problem.requestId = String(request.id);
  }
  const trace = currentTrace();
  if (trace) problem.traceId = trace.traceId;
  return problem;
}

export function sendProblem(reply: FastifyReply, err: FlotillaError): FastifyReply {
  if (err.headers) reply.headers(err.headers);
  return reply.code(err.status).type(PROBLEM_CONTENT_TYPE).send(toProblem(err, reply.request));
}
