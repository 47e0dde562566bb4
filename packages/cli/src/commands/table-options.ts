import type { OptionSpec } from '../cli/spec.js';

// Options the command tables share (table.ts, table-resources.ts).

export const HOME: OptionSpec = {
  type: 'string',
  value: 'DIR',
  description: "the fleet's state folder",
  default: '$FLOTILLA_HOME or .flotilla',
};
export const FILE: OptionSpec = {
  type: 'string',
  value: 'FILE',
  description: 'the fleet file',
  default: 'flotilla.yaml',
};
export const URL_: OptionSpec = {
  type: 'string',
  value: 'URL',
  description: "the control plane's API",
  default: '$FLOTILLA_CONTROL_URL, or the one of the fleet in --home',
};
export const output = (choices: readonly string[], fallback = choices[0]): OptionSpec => ({
  type: 'string',
  short: 'o',
  value: 'FORMAT',
  description: 'output format',
  choices,
  ...(fallback ? { default: fallback } : {}),
});
/** The spelling before `-o json`, kept for scripts. */
export const JSON_: OptionSpec = { type: 'boolean', hidden: true, description: 'same as -o json' };
export const DIR: OptionSpec = {
  type: 'string',
  value: 'DIR',
  description: 'the policies folder',
  default: 'policies',
};

/** Where the operator's commands find the control plane and the fleet. */
export const OPERATOR_OPTIONS = { url: URL_, home: HOME };
