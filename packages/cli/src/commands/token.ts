import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Agent, request } from 'undici';
import { readState } from '../up/fleet-state.js';
import { printError } from '../output.js';

/** `flotilla token --client ID`: a client-credentials access token, printed alone for scripts. */
export async function run(argv: string[]): Promise<number> {
  const i = argv.indexOf('--client');
  const clientId = i >= 0 ? argv[i + 1] : undefined;
  if (!clientId) {
    console.log('usage: flotilla token --client ID [--scope "a b"]');
    return 2;
  }
  const scopeAt = argv.indexOf('--scope');
  const home = resolve(process.env.FLOTILLA_HOME ?? '.flotilla');
  const state = await readState(home);
  const { clients } = JSON.parse(await readFile(join(home, 'secrets', 'clients.json'), 'utf8')) as {
    clients: Record<string, string>;
  };
  const secret = clients[clientId];
  if (!secret) {
    printError(`no confidential client "${clientId}" in the fleet (see flotilla.yaml auth.clients)`);
    return 1;
  }
  const { resources } = JSON.parse(await readFile(join(home, 'secrets', 'auth-clients.json'), 'utf8')) as {
    resources: Array<{ indicator: string }>;
  };
  const agent = new Agent({
    connect: { ca: await readFile(join(home, 'ca.pem'), 'utf8'), servername: 'localhost' },
  });
  try {
    const form = new URLSearchParams({ grant_type: 'client_credentials' });
    const resource = resources[0]?.indicator;
    if (resource) form.set('resource', resource);
    if (scopeAt >= 0 && argv[scopeAt + 1]) form.set('scope', argv[scopeAt + 1]!);
    const res = await request(`${state.issuer}/token`, {
      method: 'POST',
      dispatcher: agent,
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(secret)}`).toString('base64')}`,
      },
      body: form.toString(),
    });
    const body = (await res.body.json()) as {
      access_token?: string;
      error?: string;
      error_description?: string;
    };
    if (!body.access_token) {
      printError(`token refused: ${body.error ?? res.statusCode} ${body.error_description ?? ''}`);
      return 1;
    }
    console.log(body.access_token);
    return 0;
  } finally {
    await agent.close();
  }
}
