import { esc, layout } from './html.js';

interface FormBase {
  uid: string;
  csrf: string;
}

function hidden(name: string, value: string): string {
  return `<input type="hidden" name="${esc(name)}" value="${esc(value)}">`;
}

function errorBlock(error: string | undefined): string {
  return error ? `<p class="error" role="alert" id="form-error">${esc(error)}</p>` : '';
}

export function loginPage(f: FormBase & { clientName: string; username?: string; error?: string }): string {
  const described = f.error ? ' aria-describedby="form-error"' : '';
  return layout(
    'Sign in',
    `<p>to continue to <strong>${esc(f.clientName)}</strong></p>
${errorBlock(f.error)}
<form method="post" action="/interaction/${esc(f.uid)}/login" autocomplete="on">
${hidden('csrf', f.csrf)}
<label for="username">Username</label>
<input id="username" name="username" type="text" required autocomplete="username" autocapitalize="none" spellcheck="false" value="${esc(f.username ?? '')}"${described}>
<label for="password">Password</label>
<input id="password" name="password" type="password" required autocomplete="current-password"${described}>
<button type="submit">Sign in</button>
</form>
<form method="post" action="/interaction/${esc(f.uid)}/abort">${hidden('csrf', f.csrf)}<button type="submit" class="secondary">Cancel</button></form>`,
  );
}

export function mfaPage(f: FormBase & { ticket: string; error?: string }): string {
  return layout(
    'Two-step verification',
    `<p>Enter the 6-digit code from your authenticator app, or one of your recovery codes.</p>
${errorBlock(f.error)}
<form method="post" action="/interaction/${esc(f.uid)}/mfa" autocomplete="off">
${hidden('csrf', f.csrf)}${hidden('ticket', f.ticket)}
<label for="code">Verification code</label>
<input id="code" name="code" type="text" required inputmode="numeric" autocomplete="one-time-code" maxlength="20">
<button type="submit">Verify</button>
</form>`,
  );
}

export function consentPage(f: FormBase & { clientName: string; scopes: string[] }): string {
  const items = f.scopes.map((s) => `<li>${esc(s)}</li>`).join('');
  return layout(
    'Authorize access',
    `<p><strong>${esc(f.clientName)}</strong> asks for access to:</p>
<ul>${items || '<li>your identity</li>'}</ul>
<form method="post" action="/interaction/${esc(f.uid)}/confirm">${hidden('csrf', f.csrf)}<button type="submit">Allow</button></form>
<form method="post" action="/interaction/${esc(f.uid)}/abort">${hidden('csrf', f.csrf)}<button type="submit" class="secondary">Deny</button></form>`,
  );
}

export function messagePage(title: string, message: string): string {
  return layout(title, `<p role="alert">${esc(message)}</p>`);
}
