import { useEffect, useState } from 'preact/hooks';
import type { Api } from './api/client.js';
import { NO_PERMISSIONS, type Permissions } from './api/permissions.js';
import type { PermissionRequest } from './api/types.js';

/**
 * One `POST /api/permissions` batch for the page's actions. Until the answer is in, and
 * if it never comes, nothing is allowed: an action appears only once the gateway says so.
 */
export function usePermissions(api: Api, requests: readonly PermissionRequest[]): Permissions {
  const [permissions, setPermissions] = useState<Permissions>(NO_PERMISSIONS);
  const key = requests.map((r) => `${r.method} ${r.path}`).join('\n');
  useEffect(() => {
    let current = true;
    setPermissions(NO_PERMISSIONS);
    if (requests.length === 0) return; // signed out: nothing to ask
    void api.permissions(requests).then((p) => current && setPermissions(p));
    return () => {
      current = false;
    };
    // `requests` is rebuilt on every render; `key` says when it means something new.
  }, [key, api]);
  return permissions;
}
