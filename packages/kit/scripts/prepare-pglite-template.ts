/**
 * `npm install` (the root package's postinstall) makes the embedded PostgreSQL template
 * once per user and PGlite version, so that the first `npm start` copies it instead of
 * running initdb (seconds of CPU) while the fleet starts. Never fails the install: a
 * template that cannot be made now is made by the first start, as before.
 */
import { prepareTemplate } from '../src/db/pglite-template.js';

const began = Date.now();
try {
  const dir = await prepareTemplate();
  console.log(
    `flotilla: embedded PostgreSQL template ready in ${dir} (${((Date.now() - began) / 1000).toFixed(1)} s)`,
  );
} catch (err) {
  console.warn(
    `flotilla: the embedded PostgreSQL template was not made now (${(err as Error).message}); the first start will make it`,
  );
}
