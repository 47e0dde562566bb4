export { createLogger, REDACT_PATHS, redactUrl } from './logger.js';
export { createMetrics, instrumentHttp } from './metrics.js';
export { CounterSeries, HistogramSeries, SeriesCounter, SeriesHistogram } from './metric-series.js';
export { releaseStartupGarbage } from './startup-memory.js';
export {
  currentTrace,
  formatTraceparent,
  parseTraceparent,
  randomRequestId,
  runWithTrace,
  startTrace,
  type TraceContext,
  traceHeaders,
} from './trace.js';
