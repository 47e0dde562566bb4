import { useEffect, useMemo, useState } from 'preact/hooks';
import { type Api, createApi } from './api/client.js';
import type { OidcClient } from './auth/oidc.js';
import type { Session } from './auth/session.js';
import type { AppConfig } from './config.js';
import { type Permissions, permissionRequests, UPLOAD_PATH } from './api/permissions.js';
import { FavoritesPage } from './pages/favorites-page.js';
import { HistoryPage } from './pages/history-page.js';
import { SignInPage } from './pages/sign-in.js';
import { VideoListPage } from './pages/video-list.js';
import { UploadPage } from './pages/upload-page.js';
import { VideoPage } from './pages/video-page.js';
import { hrefOf, parseRoute, type Route } from './routes.js';
import { usePermissions } from './use-permissions.js';

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

  // One batch per page: the top bar's actions and the page's own, asked of the gateway.
  const permissions = usePermissions(
    api,
    session ? permissionRequests(route.page === 'video' ? route.id : undefined) : [],
  );

  return (
    <>
      <TopBar session={session} permissions={permissions} onSignOut={signOut} />
      <main id="main">
        {!session ? (
          <SignInPage onSignIn={() => signIn(false)} message={message} />
        ) : (
          <Page
            route={route}
            api={api}
            permissions={permissions}
            notice={notice}
            onDeleted={(title) => {
              setNotice(`“${title}” was deleted.`);
              window.location.hash = hrefOf({ page: 'videos' });
            }}
          />
        )}
      </main>
    </>
  );
}

interface TopBarProps {
  session: Session | undefined;
  permissions: Permissions;
  onSignOut: () => void;
}

function TopBar({ session, permissions, onSignOut }: TopBarProps) {
  return (
    <header class="top">
      <a href={hrefOf({ page: 'videos' })} class="brand">
        FlixTube
      </a>
      {session && (
        <nav aria-label="Main">
          <a href={hrefOf({ page: 'videos' })} data-testid="nav-videos">
            Videos
          </a>
          <a href={hrefOf({ page: 'favorites' })} data-testid="nav-favorites">
            Favorites
          </a>
          <a href={hrefOf({ page: 'history' })} data-testid="nav-history">
            History
          </a>
          {permissions.may('POST', UPLOAD_PATH) && (
            <a href={hrefOf({ page: 'upload' })} data-testid="nav-upload">
              Upload
            </a>
          )}
          <span class="user" data-testid="user-name">
            {session.user.name}
          </span>
          <button type="button" onClick={onSignOut} data-testid="sign-out">
            Sign out
          </button>
        </nav>
      )}
    </header>
  );
}

interface PageProps {
  route: Route;
  api: Api;
  permissions: Permissions;
  notice: string | undefined;
  onDeleted: (title: string) => void;
}

/** The signed-in page for the route. */
function Page({ route, api, permissions, notice, onDeleted }: PageProps) {
  switch (route.page) {
    case 'videos':
      return <VideoListPage api={api} notice={notice} />;
    case 'video':
      return (
        <VideoPage key={route.id} api={api} id={route.id} permissions={permissions} onDeleted={onDeleted} />
      );
    case 'upload':
      return (
        <UploadPage
          api={api}
          permissions={permissions}
          onUploaded={(video) => (window.location.hash = hrefOf({ page: 'video', id: video.id }))}
        />
      );
    case 'favorites':
      return <FavoritesPage api={api} />;
    case 'history':
      return <HistoryPage api={api} />;
    case 'not-found':
      return (
        <section aria-labelledby="nf-heading">
          <h1 id="nf-heading">Page not found</h1>
          <a href={hrefOf({ page: 'videos' })}>Back to the videos</a>
        </section>
      );
  }
}
