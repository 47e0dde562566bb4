import { FlotillaError, type ServiceContext } from '@flotilla/kit';

export interface CatalogueEntry {
  id: string;
  title: string;
}

/**
 * The catalogue entry of an upload, in metadata: created and (when the upload fails
 * after) deleted with the uploading user's own token, so the user is the owner and
 * metadata's policies decide, as for a video added through the API.
 */
export interface Catalogue {
  create(entry: { title: string; description?: string }, authorization: string): Promise<CatalogueEntry>;
  remove(id: string, authorization: string): Promise<void>;
}

type Call = Pick<ServiceContext, 'call'>['call'];

/** metadata over mTLS (`ctx.call`): `POST /videos` and `DELETE /videos/:id`. */
export function metadataCatalogue(call: Call, service = 'metadata'): Catalogue {
  return {
    async create(entry, authorization) {
      const res = await reach(service, () =>
        call(service, {
          method: 'POST',
          path: '/videos',
          headers: { authorization, accept: 'application/json', 'content-type': 'application/json' },
          body: JSON.stringify(entry),
          timeoutMs: 10_000,
        }),
      );
      const body = (await res.body.json().catch(() => undefined)) as
        { id?: unknown; title?: unknown; detail?: unknown } | undefined;
      if (res.statusCode === 403) throw new FlotillaError('FLT_FORBIDDEN', 'you may not add videos');
      if (res.statusCode === 400)
        throw new FlotillaError(
          'FLT_VALIDATION',
          `metadata refused the entry: ${typeof body?.detail === 'string' ? body.detail : 'invalid'}`,
        );
      if (res.statusCode !== 201 || typeof body?.id !== 'string' || typeof body.title !== 'string')
        throw new FlotillaError('FLT_UPSTREAM_FAILED', `${service} answered ${res.statusCode}`);
      return { id: body.id, title: body.title };
    },
    async remove(id, authorization) {
      const res = await reach(service, () =>
        call(service, {
          method: 'DELETE',
          path: `/videos/${encodeURIComponent(id)}`,
          headers: { authorization, accept: 'application/json' },
          timeoutMs: 10_000,
        }),
      );
      await res.body.dump();
      // Already gone is what we wanted.
      if (res.statusCode !== 204 && res.statusCode !== 404)
        throw new FlotillaError('FLT_UPSTREAM_FAILED', `${service} answered ${res.statusCode} to the delete`);
    },
  };
}

async function reach<T>(service: string, send: () => Promise<T>): Promise<T> {
  try {
    return await send();
  } catch (err) {
    if (err instanceof FlotillaError) throw err;
    throw new FlotillaError('FLT_UPSTREAM_FAILED', `${service} could not be reached`, { cause: err });
  }
}
