export {
  ConfigError,
  type ErrorCode,
  errorCodes,
  type FieldError,
  FlotillaError,
  type FlotillaErrorOptions,
  isErrorCode,
  problemType,
} from '@flotilla/errors';
export { PROBLEM_CONTENT_TYPE, type Problem, sendProblem, toFlotillaError, toProblem } from './problem.js';
