import { type FieldError, FlotillaError } from '@flotilla/kit';
import { type Static, Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { METHODS } from '../routes/route-schema.js';

/** The most requests one call may ask about. */
export const MAX_QUESTIONS = 50;

const Question = Type.Object(
  {
    method: Type.Union(METHODS.map((m) => Type.Literal(m))),
    /** As the request would send it; a query is ignored, as route matching ignores it. */
    path: Type.String({ pattern: '^/', maxLength: 2048 }),
  },
  { additionalProperties: false },
);
export type PermissionQuestion = Static<typeof Question>;

const Body = Type.Object(
  { requests: Type.Array(Question, { minItems: 1, maxItems: MAX_QUESTIONS }) },
  { additionalProperties: false },
);

/**
 * The requests a `POST /api/permissions` body asks about, or a 400 `FLT_VALIDATION` naming
 * what is wrong (malformed JSON included): nothing is decided for a body with one bad entry.
 */
export function parseQuestions(text: string): readonly PermissionQuestion[] {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw invalid([{ field: 'body', message: 'is not JSON' }]);
  }
  const errors: FieldError[] = [];
  for (const e of Value.Errors(Body, body)) {
    errors.push({ field: `body${e.path}`, message: e.message });
    if (errors.length === 5) break;
  }
  if (errors.length > 0) throw invalid(errors);
  return (body as Static<typeof Body>).requests;
}

function invalid(errors: FieldError[]): FlotillaError {
  return new FlotillaError(
    'FLT_VALIDATION',
    `the body must be {"requests":[{"method","path"}, …]}: 1 to ${MAX_QUESTIONS} requests, each an HTTP method and a path starting with /`,
    { errors },
  );
}
