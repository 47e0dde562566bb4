import { defineService, FlotillaError, Type } from '@flotilla/kit';

/**
 * The smallest Flotilla service: a guestbook, with its own database, schemas on every
 * input and problem+json errors — and nothing else written by hand.
 */
export const hello = defineService({
  name: 'hello',
  migrations: [
    {
      id: '001_guestbook',
      sql: 'CREATE TABLE guestbook (id serial PRIMARY KEY, name text NOT NULL, signed timestamptz NOT NULL DEFAULT now())',
    },
  ],
  routes(app, ctx) {
    app.get('/', async () => ({
      service: 'hello',
      try: ['GET /guestbook', 'POST /guestbook {"name":"…"}', 'GET /metrics'],
    }));

    app.get('/guestbook', async () => {
      const { rows } = await ctx.db.query('SELECT id, name, signed FROM guestbook ORDER BY id DESC LIMIT 50');
      return { entries: rows };
    });

    app.post(
      '/guestbook',
      {
        schema: {
          body: Type.Object(
            { name: Type.String({ minLength: 1, maxLength: 80 }) },
            { additionalProperties: false },
          ),
        },
      },
      async (req, reply) => {
        const { rows } = await ctx.db.query(
          'INSERT INTO guestbook (name) VALUES ($1) RETURNING id, name, signed',
          [req.body.name],
        );
        return reply.code(201).send(rows[0]);
      },
    );

    app.get(
      '/guestbook/:id',
      { schema: { params: Type.Object({ id: Type.Integer({ minimum: 1 }) }) } },
      async (req) => {
        const { rows } = await ctx.db.query('SELECT id, name, signed FROM guestbook WHERE id = $1', [
          req.params.id,
        ]);
        if (!rows[0]) throw new FlotillaError('FLT_NOT_FOUND', `entry ${req.params.id} does not exist`);
        return rows[0];
      },
    );
  },
});
