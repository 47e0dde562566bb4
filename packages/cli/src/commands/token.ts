import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { type Handler, str } from '../cli/spec.js';
import { UsageError } from '../cli/usage-error.js';
import { fleetHome } from '../home.js';
import { printError } from '../output.js';
import { readState } from '../up/fleet-state.js';

/** `flotilla token --client ID [--scope "a b"]`: a client-credentials access token, printed alone for scripts. */
export const token: Handler = async (args) => {
  const clientId = str(args, 'client');
  if (!clientId) throw new UsageError(`${args.command} needs --client ID`, `Run "${args.command} --help"`);
  const scope = str(args, 'scope');
  const home = fleetHome(args);
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
    if (scope) form.set('scope', scope);
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
};
