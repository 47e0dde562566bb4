// Data keys per second through the KMS over mTLS — one call per key, batched, and through
// the kit's data-key pool — against generating them in-process (randomBytes + AES-256-GCM
// seal), all in one run. The KMS runs as its own process, joined to a control plane that
// runs in this one; the caller is a service on the kit (`ctx.kms`). See README.md.
import { createCipheriv, randomBytes } from 'node:crypto';
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { startControl } from '@flotilla/control';
import { defineService } from '@flotilla/kit';
import { DataKeyPool } from '@flotilla/kit/contracts';
import { fleetJoiner, spawnService } from '@flotilla/testing';

const REPO = join(import.meta.dirname, '..', '..');
const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const KEY = 'bench';
const CONTEXT = { purpose: 'bench' };

const GRANT = `@id("bench-data-keys")
permit (principal == Service::"bench", action in [Action::"kms:GenerateDataKey", Action::"kms:Decrypt"], resource == Key::"${KEY}");
`;

/** Runs `op` (which makes `n` data keys) from `workers` loops for SECONDS; data keys per second. */
async function rate(workers: number, op: () => Promise<number> | number): Promise<number> {
  const until = performance.now() + SECONDS * 1000;
  let made = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: workers }, async () => {
      while (performance.now() < until) {
        // Not `made += await op()`: that reads `made` before the await, losing other workers' counts.
        const n = await op();
        made += n;
      }
    }),
  );
  return made / ((performance.now() - started) / 1000);
}

/** What the KMS does per data key, here: 32 random bytes, sealed with AES-256-GCM under a key. */
function inProcess(): () => number {
  const master = randomBytes(32);
  const aad = Buffer.from(`kms:v1:${KEY}:1:${JSON.stringify(CONTEXT)}`);
  return () => {
    const plaintext = randomBytes(32);
    const nonce = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', master, nonce);
    cipher.setAAD(aad);
    const sealed = Buffer.concat([nonce, cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
    return sealed.length > 0 ? 1 : 0;
  };
}

async function main(): Promise<void> {
  const home = await mkdtemp(join(tmpdir(), 'flotilla-bench-kms-'));
  const policies = join(home, 'policies');
  await cp(join(REPO, 'policies'), policies, { recursive: true });
  await writeFile(join(policies, 'bench.cedar'), GRANT);
  await writeFile(join(home, 'keys.json'), JSON.stringify([{ name: KEY }]));
  const control = await startControl({
    env: { FLOTILLA_HOME: home, LOG_LEVEL: 'silent', PORT: '0', FLOTILLA_POLICY_DIR: policies },
  });
  const joined = fleetJoiner(control, { home, policies }, { LOG_LEVEL: 'warn' });
  const kms = await spawnService(join(REPO, 'services', 'kms', 'src', 'main.ts'), {
    ...(await joined('kms')),
    FLOTILLA_KMS_ROOT_KEY: randomBytes(32).toString('base64'),
    KMS_KEYS_FILE: join(home, 'keys.json'),
  });
  const bench = await defineService({ name: 'bench', routes() {} }).start({ env: await joined('bench') });
  try {
    const client = bench.ctx.kms;
    await client.generateDataKeys(KEY, 256, CONTEXT); // warm: discovery, connections, key material
    console.log(
      `KMS data keys, ${SECONDS} s per row; Node ${process.version}, ${cpus().length} cores, load ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}`,
    );
    const local = await rate(1, inProcess());
    const rows: Array<[string, number]> = [
      ['in-process (randomBytes + AES-256-GCM seal)', local],
      [
        'KMS generate-data-key, 1 at a time',
        await rate(1, async () => (await client.generateDataKey(KEY, CONTEXT), 1)),
      ],
      [
        'KMS generate-data-key, 16 concurrent',
        await rate(16, async () => (await client.generateDataKey(KEY, CONTEXT), 1)),
      ],
      [
        'KMS generate-data-keys (256), 1 at a time',
        await rate(1, async () => (await client.generateDataKeys(KEY, 256, CONTEXT)).length),
      ],
      [
        'KMS generate-data-keys (256), 4 concurrent',
        await rate(4, async () => (await client.generateDataKeys(KEY, 256, CONTEXT)).length),
      ],
    ];
    const pool = new DataKeyPool(client, KEY, CONTEXT, { size: 1024 });
    await pool.warm();
    rows.push(['DataKeyPool.take() (size 1024)', await rate(1, async () => (await pool.take(), 1))]);
    pool.close();
    const width = Math.max(...rows.map(([n]) => n.length));
    for (const [name, perSecond] of rows)
      console.log(
        `  ${name.padEnd(width)}  ${Math.round(perSecond).toLocaleString('en').padStart(10)} keys/s  ${(perSecond / local).toFixed(3)}× in-process`,
      );
    console.log('target: ≥ 0.2× in-process through the KMS (issue 17)');
  } finally {
    await bench.stop();
    await kms.kill();
    await control.stop();
    await rm(home, { recursive: true, force: true });
  }
}

await main();
