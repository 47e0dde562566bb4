import { useEffect, useMemo, useState } from 'preact/hooks';
import { createApi } from './api/client.js';
import type { OidcClient } from './auth/oidc.js';
import type { Session } from './auth/session.js';
import type { AppConfig } from './config.js';
import { HistoryPage } from './pages/history-page.js';
import { SignInPage } from './pages/sign-in.js';
import { VideoListPage } from './pages/video-list.js';
import { VideoPage } from './pages/video-page.js';
import { hrefOf, parseRoute, type Route } from './routes.js';

interface Props {
  config: AppConfig;
  oidc: OidcClient;
  /** The session from the sign-in that loaded the page, if any. Memory only. */
  initialSession: Session | undefined;
  initialMessage?: string | undefined;
}

function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(window.location.hash));
  useEffect(() => {
    const onChange = () => setRoute(parseRoute(window.location.hash));
    window.addEventListener('hashchange', onChange);
    return () => window.removeEventListener('hashchange', onChange);
  }, []);
  return route;
}

export function App({ config, oidc, initialSession, initialMessage }: Props) {
  const [session, setSession] = useState(initialSession);
  const [message, setMessage] = useState(initialMessage);
  const [notice, setNotice] = useState<string | undefined>();
  const route = useRoute();

  const signIn = (silent = false) => {
    oidc.signIn(window.location.hash || '#/', { silent }).catch(() => {
      setMessage('The sign-in service cannot be reached. Please try again.');
    });
  };

  const api = useMemo(
    () =>
      createApi({
        base: config.apiBase,
        token: () => session?.accessToken,
        // Access tokens live minutes: when one expires, renew it without a prompt if the
        // auth server still knows us (the page comes back to the same route).
        onUnauthenticated: () => {
          setSession(undefined);
          signIn(true);
        },
      }),
    [config.apiBase, session],
  );

  const signOut = () => {
    const ending = session;
    setSession(undefined); // forget the token first, whatever the auth server does
    oidc.signOut(ending).catch(() => setMessage('You are signed out of FlixTube.'));
  };

  useEffect(() => {
    if (route.page !== 'videos') setNotice(undefined);
  }, [route.page]);

  return (
    <>
      <header class="top">
        <a href={hrefOf({ page: 'videos' })} class="brand">
          FlixTube
        </a>
        {session && (
          <nav aria-label="Main">
            <a href={hrefOf({ page: 'videos' })} data-testid="nav-videos">
              Videos
            </a>
            <a href={hrefOf({ page: 'history' })} data-testid="nav-history">
              History
            </a>
            <span class="user" data-testid="user-name">
              {session.user.name}
            </span>
            <button type="button" onClick={signOut} data-testid="sign-out">
              Sign out
            </button>
          </nav>
        )}
      </header>
      <main id="main">
        {!session ? (
          <SignInPage onSignIn={() => signIn(false)} message={message} />
        ) : route.page === 'videos' ? (
          <VideoListPage api={api} notice={notice} />
        ) : route.page === 'video' ? (
          <VideoPage
            key={route.id}
            api={api}
            id={route.id}
            onDeleted={(title) => {
              setNotice(`“${title}” was deleted.`);
              window.location.hash = hrefOf({ page: 'videos' });
            }}
          />
        ) : route.page === 'history' ? (
          <HistoryPage api={api} />
        ) : (
          <section aria-labelledby="nf-heading">
            <h1 id="nf-heading">Page not found</h1>
            <a href={hrefOf({ page: 'videos' })}>Back to the videos</a>
          </section>
        )}
      </main>
    </>
  );
}
