import { join, relative, resolve } from 'node:path';
import pg from 'pg';
import { loadFleet } from '../fleet/load-fleet.js';
import { printError } from '../output.js';
import { checkResettableHome, dropSchemas, exists, fleetSchemas, removeHome } from '../up/reset.js';

const USAGE = `usage: flotilla reset --yes [--file flotilla.yaml] [--home .flotilla]

Deletes the local state of a stopped fleet for a fresh start: every service's embedded
database (data/), the secrets and demo passwords (secrets/), the certificate authority
and its keys, logs and compiled services. With DATABASE_URL set, also drops the fleet's
schemas there (one per service: control, auth and each service in the fleet file).
Without --yes it only lists what it would delete.`;

/** `flotilla reset --yes`: forget everything `flotilla up` created. */
export async function run(argv: string[]): Promise<number> {
  if (argv.includes('--help')) {
    console.log(USAGE);
    return 0;
  }
  const home = resolve(flag(argv, '--home') ?? process.env.FLOTILLA_HOME ?? '.flotilla');
  const file = resolve(flag(argv, '--file') ?? 'flotilla.yaml');
  const url = process.env.DATABASE_URL;
  const schemas = url ? fleetSchemas(await loadFleet(file)) : [];
  const present = (await checkResettableHome(home)) === 'present';
  const shown = relative(process.cwd(), home) || home;

  if (!argv.includes('--yes')) {
    console.log('flotilla reset would delete:');
    if (present)
      for (const part of ['data', 'secrets', 'ca.pem', 'logs'])
        if (await exists(join(home, part))) console.log(`  ${join(shown, part)}`);
    console.log(present ? `  ${shown}/ (all of it)` : `  nothing in ${shown}/ (it does not exist)`);
    if (url) console.log(`  PostgreSQL schemas, where they exist: ${schemas.join(', ')}`);
    printError('nothing deleted: run "flotilla reset --yes" to delete it');
    return 2;
  }

  if (url) {
    const client = new pg.Client({ connectionString: url, application_name: 'flotilla-reset' });
    await client.connect();
    try {
      const dropped = await dropSchemas(client, schemas);
      console.log(
        dropped.length ? `dropped schemas ${dropped.join(', ')}` : `no fleet schemas in the database`,
      );
    } finally {
      await client.end();
    }
  }
  await removeHome(home);
  console.log(present ? `deleted ${shown}/` : `${shown}/ did not exist`);
  console.log('next "flotilla up" starts fresh: new CA, secrets and demo passwords, empty databases');
  return 0;
}

function flag(argv: string[], name: string): string | undefined {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
}
