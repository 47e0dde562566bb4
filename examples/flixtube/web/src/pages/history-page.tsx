import type { Api } from '../api/client.js';
import { hrefOf } from '../routes.js';
import { useLoad } from '../use-load.js';

export function HistoryPage({ api }: { api: Api }) {
  const history = useLoad('history', () => api.history());
  return (
    <section aria-labelledby="history-heading">
      <h1 id="history-heading">Your history</h1>
      {history.state === 'loading' && <p aria-busy="true">Loading your history…</p>}
      {history.state === 'failed' && (
        <p role="alert" class="error">
          {history.message}
        </p>
      )}
      {history.state === 'done' && history.value.views.length === 0 && (
        <p>You have not watched anything yet.</p>
      )}
      {history.state === 'done' && (
        <ol class="history" data-testid="history-list">
          {history.value.views.map((view) => (
            <li key={view.id} data-testid="history-item">
              {view.title === null ? (
                <span class="muted">A video that is no longer available</span>
              ) : (
                <a href={hrefOf({ page: 'video', id: view.videoId })}>{view.title}</a>
              )}{' '}
              <time dateTime={view.viewed} class="muted">
                {new Date(view.viewed).toLocaleString()}
              </time>
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}
