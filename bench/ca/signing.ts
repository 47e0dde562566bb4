// Longer than 400 lines on purpose: one comparison (two servers set up the same way, one
// client, one report) reads best as one file, and a third of it is this description.
// CSR signing throughput: the control plane against cfssl signing the same CSRs, with the
// same client, the same concurrency, in the same run. `npx tsx bench/ca/signing.ts`
// (BENCH_N, BENCH_CONCURRENCY, BENCH_ROUNDS to tune; BENCH_ONLY=flotilla to skip cfssl). See bench/ca/README.md.
//
// Each server runs in its own process; this process only generates load (undici, keep-alive,
// BENCH_CONCURRENCY connections and requests in flight) and counts. Per CSR:
//   flotilla  POST /v1/certificates over TLS with a single-use join token: token lookup,
//             CSR parse + signature + key/subject/SAN checks, sign, token use and
//             certificate row in one transaction (PGlite on disk, as `flotilla up`), audit
//             record fsynced, response after both are durable
//   cfssl     POST /api/v1/cfssl/authsign over TLS with an HMAC token (cfssl's own
//             authentication), CSR parse + signature check, sign, certificate row in SQLite
//             on disk (cfssl's certdb) — the same kinds of work, minus the audit trail
//   cfssl, minimal  POST /api/v1/cfssl/sign over plain HTTP, no authentication, no database
//             (what this benchmark compared against before; shown for reference)
//   flotilla, in-process  CertificateAuthority.signCsr in this process: parse + check + sign,
//             no HTTP, no token, no database (reference only: nothing to compare it with)
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHmac, randomBytes, webcrypto } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { startControl } from '@flotilla/control';
import { x509 } from '@flotilla/kit';
import { Agent, request } from 'undici';

const run = promisify(execFile);
const N = Number(process.env.BENCH_N ?? 2000);
const WARM = Math.min(200, N);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const SERVICE = 'bench';
const here = dirname(fileURLToPath(import.meta.url));

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

/** The same CSR with one bit of its signature flipped: every side must refuse it. */
function tampered(pem: string): string {
  const der = Buffer.from(x509.PemConverter.decodeFirst(pem));
  der[der.length - 1] = (der[der.length - 1] ?? 0) ^ 0x01;
  return x509.PemConverter.encode(der, 'CERTIFICATE REQUEST');
}

/** Runs `fn` over every item with CONCURRENCY in flight; returns items per second. */
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

/** CPU seconds (user + system) a process has used so far, from /proc (Linux). */
async function cpuSeconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks
}

/** Throughput plus the server's CPU time per CSR over the timed part. */
async function measured<T>(
  pid: number,
  items: T[],
  fn: (item: T) => Promise<void>,
): Promise<{ rate: number; cpuMs: number }> {
  const before = await cpuSeconds(pid);
  const rate = await throughput(items, fn);
  const cpuMs = ((await cpuSeconds(pid)) - before) * 1000;
  return { rate, cpuMs: cpuMs / items.length };
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

async function post(
  dispatcher: Agent,
  url: string,
  body: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await request(url, {
    method: 'POST',
    dispatcher,
    headers: { 'content-type': 'application/json', ...headers },
    body,
  });
  return { status: res.statusCode, json: (await res.body.json()) as Record<string, unknown> };
}

async function inProcess(csrs: string[], home: string): Promise<number> {
  const control = await startControl({
    env: { FLOTILLA_HOME: home, LOG_LEVEL: 'silent' },
    inMemoryDb: true,
    writeBundleFile: false,
  });
  try {
    const sign = async (csr: string) => void (await control.ca.signCsr(csr, SERVICE));
    await throughput(csrs.slice(0, WARM), sign);
    return await throughput(csrs, sign);
  } finally {
    await control.stop();
  }
}

interface Side {
  name: string;
  pid: number;
  /** Prepares `count` requests for these CSRs (tokens are made here, outside the timing). */
  prepare(csrs: string[]): Promise<string[]>;
  send(body: string): Promise<void>;
  /** True when a tampered CSR is refused. */
  refusesTampered(csr: string): Promise<boolean>;
  stop(): Promise<void>;
}

async function startFlotilla(home: string): Promise<Side> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    FLOTILLA_HOME: home,
    LOG_LEVEL: 'warn',
    PORT: '0',
    CONTROL_PUBLIC_PORT: '0',
  };
  delete env.DATABASE_URL; // the embedded database on disk, as `flotilla up` runs it
  const child = spawn(process.execPath, ['--import', 'tsx', join(here, 'control-child.ts')], {
    env,
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const line = await new Promise<string>((resolve, reject) => {
    const rl = createInterface({ input: child.stdout });
    rl.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`control exited with ${code}`)));
  });
  const info = (
    JSON.parse(line) as { control: { url: string; adminToken: string; roots: string; pid: number } }
  ).control;
  const dispatcher = new Agent({ connect: { ca: info.roots }, connections: CONCURRENCY });
  const url = `${info.url}/v1/certificates`;
  const token = async () => {
    const res = await post(dispatcher, `${info.url}/v1/join-tokens`, JSON.stringify({ service: SERVICE }), {
      authorization: `Bearer ${info.adminToken}`,
    });
    if (res.status !== 201) throw new Error(`join token: ${res.status}`);
    return res.json.token as string;
  };
  return {
    name: 'flotilla',
    pid: info.pid,
    async prepare(csrs) {
      const bodies: string[] = [];
      for (const csr of csrs) bodies.push(JSON.stringify({ csr, token: await token() }));
      return bodies;
    },
    async send(body) {
      const res = await post(dispatcher, url, body);
      if (res.status !== 201) throw new Error(`flotilla: ${res.status} ${JSON.stringify(res.json)}`);
    },
    async refusesTampered(csr) {
      const res = await post(dispatcher, url, JSON.stringify({ csr: tampered(csr), token: await token() }));
      return res.status === 400 && res.json.detail === 'csr signature does not verify';
    },
    stop: () => stopChild(child, dispatcher),
  };
}

async function stopChild(child: ChildProcess, dispatcher: Agent): Promise<void> {
  await dispatcher.close();
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

/** A P-256 root, intermediate (signs) and TLS server certificate for cfssl, made with openssl. */
async function cfsslFiles(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  const sh = (cmd: string) => run('sh', ['-c', cmd], { cwd: dir });
  const ec = '-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes';
  await sh(
    `openssl req -x509 ${ec} -keyout root-key.pem -out root.pem -days 30 -subj "/CN=cfssl bench root" -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null`,
  );
  await sh(
    `openssl req -new ${ec} -keyout int-key.pem -out int.csr -subj "/CN=cfssl bench intermediate" 2>/dev/null && ` +
      'printf "basicConstraints=critical,CA:TRUE,pathlen:0\\nkeyUsage=critical,keyCertSign,cRLSign\\n" > int.ext && ' +
      'openssl x509 -req -in int.csr -CA root.pem -CAkey root-key.pem -CAcreateserial -days 30 -extfile int.ext -out int.pem 2>/dev/null',
  );
  await sh(
    `openssl req -new ${ec} -keyout tls-key.pem -out tls.csr -subj "/CN=127.0.0.1" 2>/dev/null && ` +
      'printf "subjectAltName=IP:127.0.0.1\\nextendedKeyUsage=serverAuth\\n" > tls.ext && ' +
      'openssl x509 -req -in tls.csr -CA root.pem -CAkey root-key.pem -CAcreateserial -days 30 -extfile tls.ext -out tls.pem 2>/dev/null',
  );
}

/**
 * cfssl's certdb schema (certdb/sqlite/migrations/001_CreateCertificates.sql), in SQLite's
 * default rollback-journal mode: each insert is durable when cfssl answers (strace: three
 * fdatasync per insert). WAL mode (BENCH_CFSSL_WAL=1) is faster but, with this SQLite and
 * driver, syncs only at checkpoints — it would answer before the row is durable.
 */
const CERTDB_SCHEMA = `${process.env.BENCH_CFSSL_WAL === '1' ? 'PRAGMA journal_mode=WAL;' : ''}
CREATE TABLE certificates (
  serial_number blob NOT NULL, authority_key_identifier blob NOT NULL, ca_label blob,
  status blob NOT NULL, reason int, created_at timestamp, expiry timestamp, revoked_at timestamp,
  pem blob NOT NULL, PRIMARY KEY(serial_number, authority_key_identifier));
CREATE TABLE ocsp_responses (
  serial_number blob NOT NULL, authority_key_identifier blob NOT NULL, body blob NOT NULL,
  expiry timestamp, PRIMARY KEY(serial_number, authority_key_identifier));`;

async function startCfssl(
  dir: string,
  mode: 'full' | 'minimal',
): Promise<Side & { rows(): Promise<number> }> {
  const full = mode === 'full';
  const authKey = randomBytes(16).toString('hex');
  const usages = ['digital signature', 'server auth', 'client auth'];
  await writeFile(
    join(dir, `config-${mode}.json`),
    JSON.stringify(
      full
        ? {
            signing: { default: { expiry: '1h', usages, auth_key: 'bench' } },
            auth_keys: { bench: { type: 'standard', key: authKey } },
          }
        : { signing: { default: { expiry: '1h', usages } } },
    ),
  );
  const args = ['serve', '-address', '127.0.0.1', '-ca', 'int.pem', '-ca-key', 'int-key.pem'];
  args.push('-config', `config-${mode}.json`, '-loglevel', '2');
  if (full) {
    await rm(join(dir, 'certs.db'), { force: true });
    await run('sqlite3', ['certs.db', CERTDB_SCHEMA], { cwd: dir });
    await writeFile(join(dir, 'db.json'), JSON.stringify({ driver: 'sqlite3', data_source: 'certs.db' }));
    args.push('-db-config', 'db.json', '-tls-cert', 'tls.pem', '-tls-key', 'tls-key.pem');
  }
  const port = await freePort();
  args.push('-port', String(port));
  const server = spawn('cfssl', args, { cwd: dir, stdio: 'ignore' });
  const base = `${full ? 'https' : 'http'}://127.0.0.1:${port}/api/v1/cfssl`;
  const url = `${base}/${full ? 'authsign' : 'sign'}`;
  const dispatcher = new Agent({
    ...(full ? { connect: { ca: await readFile(join(dir, 'root.pem'), 'utf8') } } : {}),
    connections: CONCURRENCY,
  });
  // cfssl's standard auth: the token is HMAC-SHA256 over the exact request bytes.
  const bodyFor = (csr: string) => {
    const req = JSON.stringify({ certificate_request: csr });
    if (!full) return req;
    const token = createHmac('sha256', Buffer.from(authKey, 'hex')).update(req).digest('base64');
    return JSON.stringify({ token, request: Buffer.from(req).toString('base64') });
  };
  const side = {
    name: full ? 'cfssl' : 'cfssl, minimal',
    pid: server.pid ?? 0,
    prepare: async (csrs: string[]) => csrs.map(bodyFor),
    async send(body: string) {
      const res = await post(dispatcher, url, body);
      if (res.status !== 200 || !res.json.success)
        throw new Error(`cfssl: ${JSON.stringify(res.json.errors)}`);
    },
    async refusesTampered(csr: string) {
      const res = await post(dispatcher, url, bodyFor(tampered(csr)));
      return res.status === 400 && /verification/i.test(JSON.stringify(res.json.errors));
    },
    stop: () => stopChild(server, dispatcher),
    async rows() {
      if (!full) return 0;
      const { stdout } = await run('sqlite3', ['certs.db', 'SELECT count(*) FROM certificates'], {
        cwd: dir,
      });
      return Number(stdout.trim());
    },
  };
  for (let i = 0; ; i += 1) {
    try {
      await side.send(bodyFor((await makeCsrs(1))[0] as string));
      break;
    } catch (err) {
      if (i > 100) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return side;
}

async function cfsslAvailable(): Promise<boolean> {
  try {
    await run('cfssl', ['version']);
    await run('sqlite3', ['-version']);
    return true;
  } catch {
    return false;
  }
}

/**
 * One round for one side: warm-up, then the timed N requests. With BENCH_PROFILE_DIR set,
 * the control plane writes a CPU profile of the timed part there (SIGUSR2 around it).
 */
async function round(side: Side, csrs: string[]): Promise<{ rate: number; cpuMs: number }> {
  const bodies = await side.prepare(csrs);
  await throughput(bodies.slice(0, WARM), (b) => side.send(b));
  const profile = process.env.BENCH_PROFILE_DIR && side.name === 'flotilla';
  if (profile) process.kill(side.pid, 'SIGUSR2');
  const result = await measured(side.pid, bodies.slice(WARM), (b) => side.send(b));
  if (profile) {
    process.kill(side.pid, 'SIGUSR2');
    await new Promise((r) => setTimeout(r, 3000)); // time to write the profile
  }
  return result;
}

const fmt = (n: number) => n.toFixed(0).padStart(7);
const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

const dir = await mkdtemp(join(tmpdir(), 'flotilla-bench-ca-'));
try {
  console.log(
    `CSR signing, ${N} P-256 CSRs, ${CONCURRENCY} in flight, ${ROUNDS} rounds, node ${process.version}`,
  );
  console.log(`  load average at start: ${load()}`);
  const csrs = await makeCsrs(N);
  const timed = [...csrs.slice(0, WARM), ...csrs]; // warm-up requests, then the N timed ones

  const own = await inProcess(csrs, join(dir, 'in-process'));
  console.log(`  flotilla, signing function in-process (no HTTP, no DB) ${fmt(own)} CSRs/s`);

  const sides: Array<Side & { rows?: () => Promise<number> }> = [await startFlotilla(join(dir, 'home'))];
  const haveCfssl = process.env.BENCH_ONLY !== 'flotilla' && (await cfsslAvailable());
  if (haveCfssl) {
    await cfsslFiles(join(dir, 'cfssl'));
    sides.push(await startCfssl(join(dir, 'cfssl'), 'full'));
    sides.push(await startCfssl(join(dir, 'cfssl'), 'minimal'));
  } else {
    console.log('  cfssl or sqlite3 not installed (apt-get install golang-cfssl sqlite3): our figures only');
  }
  try {
    for (const side of sides) {
      if (!(await side.refusesTampered(csrs[0] as string)))
        throw new Error(`${side.name} signed a tampered CSR`);
    }
    const best = new Map<string, { rate: number; cpuMs: number }>();
    for (let r = 1; r <= ROUNDS; r += 1) {
      // Alternating order, so neither side always runs on a machine warmed by the other.
      for (const side of r % 2 ? sides : [...sides].reverse()) {
        const result = await round(side, timed);
        console.log(
          `  round ${r}  ${side.name.padEnd(15)} ${fmt(result.rate)} CSRs/s  ${result.cpuMs.toFixed(2)} ms server CPU per CSR  (load ${load()})`,
        );
        const prev = best.get(side.name);
        if (!prev || prev.rate < result.rate) best.set(side.name, result);
      }
    }
    for (const side of sides) {
      const rows = await side.rows?.();
      if (rows !== undefined && side.name === 'cfssl' && rows < ROUNDS * N)
        throw new Error(`cfssl stored ${rows} certificates`);
    }
    const ours = best.get('flotilla')?.rate ?? 0;
    console.log(`  best of ${ROUNDS}:`);
    for (const [name, b] of best) {
      console.log(
        `    ${name.padEnd(15)} ${fmt(b.rate)} CSRs/s  ${b.cpuMs.toFixed(2)} ms server CPU per CSR`,
      );
    }
    const cf = best.get('cfssl')?.rate;
    const cfMin = best.get('cfssl, minimal')?.rate;
    if (cf && cfMin) {
      console.log(
        `  ratio flotilla / cfssl (TLS, token, DB on both)      ${(ours / cf).toFixed(2).padStart(6)}x`,
      );
      console.log(
        `  ratio flotilla / cfssl minimal (no TLS, auth or DB)  ${(ours / cfMin).toFixed(2).padStart(6)}x`,
      );
      console.log(
        `  ratio in-process function / cfssl minimal            ${(own / cfMin).toFixed(2).padStart(6)}x`,
      );
    }
  } finally {
    for (const side of sides) await side.stop();
  }
  console.log(`  load average at end: ${load()}`);
  console.log('  target: >= 500 CSRs/s and >= 1.0x cfssl');
} finally {
  await rm(dir, { recursive: true, force: true });
}
