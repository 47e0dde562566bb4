import type { ServiceApp } from '@flotilla/kit';
import { postAbort, postConfirm, showInteraction } from './consent.js';
import type { InteractionDeps } from './interaction.js';
import { postLogin } from './login.js';
import { postMfa } from './mfa.js';

/**
 * The sign-in pages of oidc-provider's interactions: the password, the second factor, the
 * consent, each a form post guarded by a CSRF token bound to the interaction. Forms are
 * parsed here (8 KiB at most); every other content type is refused.
 */
export function registerInteractions(app: ServiceApp, d: InteractionDeps): void {
  void app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser(
      'application/x-www-form-urlencoded',
      { parseAs: 'string', bodyLimit: 8192 },
      (_r, body, done) => done(null, Object.fromEntries(new URLSearchParams(body as string))),
    );
    scope.get('/interaction/:uid', (req, reply) => showInteraction(d, req, reply));
    scope.post('/interaction/:uid/login', (req, reply) => postLogin(d, req, reply));
    scope.post('/interaction/:uid/mfa', (req, reply) => postMfa(d, req, reply));
    scope.post('/interaction/:uid/confirm', (req, reply) => postConfirm(d, req, reply));
    scope.post('/interaction/:uid/abort', (req, reply) => postAbort(d, req, reply));
  });
}
