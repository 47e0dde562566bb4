/** The app's pages, addressed by the URL fragment so the server serves one file for all. */
export type Route =
  | { page: 'videos' }
  | { page: 'video'; id: string }
  | { page: 'upload' }
  | { page: 'history' }
  | { page: 'favorites' }
  | { page: 'not-found' };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function parseRoute(hash: string): Route {
  const path = hash.replace(/^#/, '') || '/';
  if (path === '/' || path === '/videos') return { page: 'videos' };
  if (path === '/upload') return { page: 'upload' };
  if (path === '/history') return { page: 'history' };
  if (path === '/favorites') return { page: 'favorites' };
  const m = /^\/videos\/([^/]+)$/.exec(path);
  if (m?.[1] && UUID.test(m[1])) return { page: 'video', id: m[1] };
  return { page: 'not-found' };
}

export function hrefOf(route: Route): string {
  switch (route.page) {
    case 'videos':
    case 'not-found':
      return '#/';
    case 'video':
      return `#/videos/${route.id}`;
    case 'upload':
      return '#/upload';
    case 'history':
      return '#/history';
    case 'favorites':
      return '#/favorites';
  }
}
