import type { Api } from '../api/client.js';
import { hrefOf } from '../routes.js';
import { useLoad } from '../use-load.js';

const REASON = { 'co-viewed': 'Watched by people who watched what you did', popular: 'Popular' } as const;

/** "People who watched this also watched": the recommendations service's list, above the catalogue. */
export function Recommended({ api }: { api: Api }) {
  const list = useLoad('recommendations', () => api.recommendations());
  return (
    <section aria-labelledby="recommended-heading" class="recommended">
      <h2 id="recommended-heading">Recommended for you</h2>
      {list.state === 'loading' && <p aria-busy="true">Loading recommendations…</p>}
      {list.state === 'failed' && <p class="muted">{list.message}</p>}
      {list.state === 'done' && list.value.recommendations.length === 0 && (
        <p class="muted">Nothing to recommend yet: watch something first.</p>
      )}
      {list.state === 'done' && list.value.recommendations.length > 0 && (
        <ul class="videos" data-testid="recommendations">
          {list.value.recommendations.map((r) => (
            <li key={r.videoId} data-testid="recommendation">
              <a href={hrefOf({ page: 'video', id: r.videoId })}>{r.title ?? 'A video'}</a>
              <p class="muted">{REASON[r.reason]}</p>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
