import { join, relative, resolve } from 'node:path';
import pg from 'pg';
import { loadFleet } from '../fleet/load-fleet.js';
import { bool, type Handler, str } from '../cli/spec.js';
import { fleetHome } from '../home.js';
import { printError } from '../output.js';
import { checkResettableHome, dropSchemas, exists, fleetSchemas, removeHome } from '../up/reset.js';

/** `flotilla reset [--yes]`: forget everything `flotilla up` created (without --yes: list it, exit 2). */
export const reset: Handler = async (args) => {
  const home = fleetHome(args);
  const file = resolve(str(args, 'file') ?? 'flotilla.yaml');
  const url = process.env.DATABASE_URL;
  const schemas = url ? fleetSchemas(await loadFleet(file)) : [];
  const present = (await checkResettableHome(home)) === 'present';
  const shown = relative(process.cwd(), home) || home;

  if (!bool(args, 'yes')) {
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
};
