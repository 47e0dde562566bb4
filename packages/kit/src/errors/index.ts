export { type ErrorCode, errorCodes, isErrorCode, problemType } from './codes.js';
export { ConfigError, type FieldError, FlotillaError, type FlotillaErrorOptions } from './flotilla-error.js';
export { PROBLEM_CONTENT_TYPE, type Problem, sendProblem, toFlotillaError, toProblem } from './problem.js';
