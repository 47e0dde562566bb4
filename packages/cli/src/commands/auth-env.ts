/** What the `auth` and `users` commands share: a secret from stdin, and Argon2 settings as the service reads them. */

/** The whole of stdin, without its final newline (a secret piped in, never an argument). */
export async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

/** An integer setting of the auth service from the environment, or its default. */
export function intSetting(name: string, fallback: number): number {
  return Number.parseInt(process.env[name] ?? '', 10) || fallback;
}

/** Argon2id cost, as the auth service's settings (and defaults) give it. */
export function argon2FromEnv() {
  return {
    memoryCost: intSetting('AUTH_ARGON2_MEMORY_KIB', 19_456),
    timeCost: intSetting('AUTH_ARGON2_TIME_COST', 2),
    parallelism: intSetting('AUTH_ARGON2_PARALLELISM', 1),
  };
}
