// The benchmark's upstream, in its own process: the same small JSON answer over plain
// HTTP (for the direct baseline) and over HTTPS (for the gateway and HAProxy).
// `GET /__connections` on the plain port tells how many connections each side has accepted,
// so the benchmark can show that proxies reuse their upstream connections.
import { createServer as createHttp, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttps } from 'node:https';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';

const [certFile, keyFile] = process.argv.slice(2) as [string, string];
const body = JSON.stringify({ id: 42, title: 'a video', views: 1234 });
const accepted = { http: 0, https: 0 };
// UPSTREAM_BURN_US=50: each answer first spins that long on the CPU, so the bare upstream
// takes as much of the host as a heavier service would (do the proxies' costs depend on it?).
const burnNs = BigInt(Math.round(Number(process.env.UPSTREAM_BURN_US ?? 0) * 1000));
const burn = () => {
  const end = process.hrtime.bigint() + burnNs;
  while (process.hrtime.bigint() < end) {
    // spinning on purpose
  }
};
const handler = (_req: IncomingMessage, res: ServerResponse) => {
  if (burnNs > 0n) burn();
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
};
const http = createHttp({ keepAliveTimeout: 60_000 }, (req, res) => {
  if (req.url === '/__connections') return void res.end(JSON.stringify(accepted));
  handler(req, res);
});
const https = createHttps(
  { cert: readFileSync(certFile), key: readFileSync(keyFile), keepAliveTimeout: 60_000 },
  handler,
);
http.on('connection', () => accepted.http++);
https.on('secureConnection', () => accepted.https++);
http.listen(0, '127.0.0.1', () => {
  https.listen(0, '127.0.0.1', () => {
    const ports = {
      http: (http.address() as AddressInfo).port,
      https: (https.address() as AddressInfo).port,
    };
    process.stdout.write(`${JSON.stringify(ports)}\n`);
  });
});
