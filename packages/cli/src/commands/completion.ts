import { bashCompletion, zshCompletion } from '../cli/completion.js';
import type { Handler } from '../cli/spec.js';
import { COMMANDS } from './table.js';

/** `flotilla completion bash`: source <(flotilla completion bash). */
export const bash: Handler = async () => {
  process.stdout.write(bashCompletion(COMMANDS));
  return 0;
};

/** `flotilla completion zsh`: source <(flotilla completion zsh), after compinit. */
export const zsh: Handler = async () => {
  process.stdout.write(zshCompletion(COMMANDS));
  return 0;
};
