// CSR signing throughput: the control plane's signing function against cfssl signing the
// same CSRs. Run with `npx tsx bench/ca/signing.ts` (BENCH_N, BENCH_CONCURRENCY to tune).
//
// What is measured (all on this machine, same CSRs, same concurrency, P-256 CAs):
//   ours (in-process)  CertificateAuthority.signCsr: parse + verify the CSR, check key,
//                      subject and SANs, sign the leaf (no database write)
//   ours (HTTPS API)   POST /v1/certificates with a join token each: the whole path —
//                      TLS, validation, token use, signing, DB insert, audit record
//   cfssl serve        POST /api/v1/cfssl/sign over keep-alive HTTP (no TLS) to a local
//                      `cfssl serve` signing with a P-256 intermediate
//   cfssl sign         one `cfssl sign` process per CSR (a small sample; process start dominates)
import { execFile, spawn } from 'node:child_process';
import { webcrypto } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startControl } from '@flotilla/control';
import { x509 } from '@flotilla/kit';
import { Agent, request } from 'undici';

const run = promisify(execFile);
const N = Number(process.env.BENCH_N ?? 2000);
const HTTP_N = Math.min(N, Number(process.env.BENCH_HTTP_N ?? 500));
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const SERVICE = 'bench';

async function makeCsrs(count: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < count; i += 1) {
    const keys = await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, [
      'sign',
      'verify',
    ]);
    const csr = await x509.Pkcs10CertificateRequestGenerator.create({
      name: `CN=${SERVICE}`,
      keys: keys as never,
      signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
      extensions: [
        new x509.SubjectAlternativeNameExtension([
          { type: 'url', value: `spiffe://flotilla.local/svc/${SERVICE}` },
        ]),
      ],
    });
    out.push(csr.toString('pem'));
  }
  return out;
}

/** Runs `fn` over every item with a fixed number in flight; returns items per second. */
async function throughput<T>(items: T[], fn: (item: T) => Promise<void>): Promise<number> {
  let next = 0;
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: Math.min(CONCURRENCY, items.length) }, async () => {
      while (next < items.length) {
        const item = items[next++] as T;
        await fn(item);
      }
    }),
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return items.length / seconds;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      srv.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

async function benchOurs(csrs: string[], home: string): Promise<{ inProcess: number; https: number }> {
  const control = await startControl({
    env: { FLOTILLA_HOME: home, LOG_LEVEL: 'silent' },
    inMemoryDb: true,
    writeBundleFile: false,
  });
  try {
    const sign = async (csr: string) => void (await control.ca.signCsr(csr, SERVICE));
    await throughput(csrs.slice(0, 200), sign); // warm-up
    const inProcess = await throughput(csrs, sign);

    const dispatcher = new Agent({
      connect: { ca: control.bundle().roots.join('') },
      connections: CONCURRENCY,
    });
    const post = async (path: string, body: unknown, admin = false) => {
      const res = await request(`${control.url}${path}`, {
        method: 'POST',
        dispatcher,
        headers: {
          'content-type': 'application/json',
          ...(admin ? { authorization: `Bearer ${control.adminToken}` } : {}),
        },
        body: JSON.stringify(body),
      });
      const json = (await res.body.json()) as Record<string, unknown>;
      if (res.statusCode >= 300) throw new Error(`${path}: ${res.statusCode} ${JSON.stringify(json)}`);
      return json;
    };
    const jobs: Array<{ csr: string; token: string }> = [];
    for (const csr of csrs.slice(0, HTTP_N)) {
      jobs.push({ csr, token: (await post('/v1/join-tokens', { service: SERVICE }, true)).token as string });
    }
    const https = await throughput(jobs, async (job) => void (await post('/v1/certificates', job)));
    await dispatcher.close();
    return { inProcess, https };
  } finally {
    await control.stop();
  }
}

async function cfsslAvailable(): Promise<boolean> {
  try {
    await run('cfssl', ['version']);
    return true;
  } catch {
    return false;
  }
}

async function benchCfssl(
  csrs: string[],
  dir: string,
): Promise<{ serve: number; cli: number; cliSample: number }> {
  // A P-256 root and intermediate for cfssl, made with openssl (cfssl needs the key in a file).
  const sh = (cmd: string) => run('sh', ['-c', cmd], { cwd: dir });
  await sh(
    'openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout root-key.pem -out root.pem -days 30 -subj "/CN=cfssl bench root" -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null',
  );
  await sh(
    'openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout int-key.pem -out int.csr -subj "/CN=cfssl bench intermediate" 2>/dev/null && ' +
      'printf "basicConstraints=critical,CA:TRUE,pathlen:0\\nkeyUsage=critical,keyCertSign,cRLSign\\n" > int.ext && ' +
      'openssl x509 -req -in int.csr -CA root.pem -CAkey root-key.pem -CAcreateserial -days 30 -extfile int.ext -out int.pem 2>/dev/null',
  );
  await writeFile(
    join(dir, 'config.json'),
    JSON.stringify({
      signing: { default: { expiry: '1h', usages: ['digital signature', 'server auth', 'client auth'] } },
    }),
  );
  for (const [i, csr] of csrs.entries()) if (i < 50) await writeFile(join(dir, `csr-${i}.pem`), csr);

  const port = await freePort();
  const server = spawn(
    'cfssl',
    [
      'serve',
      '-address',
      '127.0.0.1',
      '-port',
      String(port),
      '-ca',
      'int.pem',
      '-ca-key',
      'int-key.pem',
      '-config',
      'config.json',
    ],
    { cwd: dir, stdio: 'ignore' },
  );
  try {
    const url = `http://127.0.0.1:${port}/api/v1/cfssl/sign`;
    const dispatcher = new Agent({ connections: CONCURRENCY });
    const sign = async (csr: string) => {
      const res = await request(url, {
        method: 'POST',
        dispatcher,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ certificate_request: csr }),
      });
      const json = (await res.body.json()) as { success?: boolean; errors?: unknown };
      if (res.statusCode !== 200 || !json.success)
        throw new Error(`cfssl sign failed: ${JSON.stringify(json.errors)}`);
    };
    for (let i = 0; ; i += 1) {
      try {
        await sign(csrs[0] as string);
        break;
      } catch (err) {
        if (i > 100) throw err;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    await throughput(csrs.slice(0, 200), sign); // warm-up
    const serve = await throughput(csrs, sign);
    await dispatcher.close();

    const sample = Array.from({ length: 50 }, (_, i) => i);
    const cli = await throughput(sample, async (i) => {
      await run(
        'cfssl',
        ['sign', '-ca', 'int.pem', '-ca-key', 'int-key.pem', '-config', 'config.json', `csr-${i}.pem`],
        {
          cwd: dir,
        },
      );
    });
    return { serve, cli, cliSample: sample.length };
  } finally {
    server.kill('SIGTERM');
  }
}

const fmt = (n: number) => n.toFixed(0).padStart(8);

const dir = await mkdtemp(join(tmpdir(), 'flotilla-bench-ca-'));
try {
  console.log(`CSR signing, ${N} P-256 CSRs, ${CONCURRENCY} in flight, node ${process.version}`);
  const csrs = await makeCsrs(N);
  const ours = await benchOurs(csrs, join(dir, 'home'));
  console.log(`  flotilla control, signing function (in-process)  ${fmt(ours.inProcess)} CSRs/s`);
  console.log(
    `  flotilla control, POST /v1/certificates (HTTPS)   ${fmt(ours.https)} CSRs/s  (${HTTP_N} CSRs, token + DB + audit)`,
  );
  if (!(await cfsslAvailable())) {
    console.log('  cfssl: not installed (apt-get install golang-cfssl); only our figures are shown');
  } else {
    const cf = await benchCfssl(csrs, dir);
    console.log(`  cfssl serve, POST /api/v1/cfssl/sign (HTTP)       ${fmt(cf.serve)} CSRs/s`);
    console.log(
      `  cfssl sign, one process per CSR                   ${fmt(cf.cli)} CSRs/s  (${cf.cliSample} CSRs)`,
    );
    console.log(
      `  ratio, signing function / cfssl serve             ${(ours.inProcess / cf.serve).toFixed(2).padStart(8)}×`,
    );
    console.log(
      `  ratio, HTTPS API / cfssl serve                    ${(ours.https / cf.serve).toFixed(2).padStart(8)}×`,
    );
  }
  console.log(`  target: >= 500 CSRs/s and >= 1.0x cfssl`);
} finally {
  await rm(dir, { recursive: true, force: true });
}
