import { render } from 'preact';
import { App } from './app.js';
import { OidcClient } from './auth/oidc.js';
import { loadConfig } from './config.js';
import './styles.css';

async function boot(root: HTMLElement): Promise<void> {
  const here = new URL(window.location.href);
  const config = await loadConfig(here.origin);
  const oidc = new OidcClient(config);
  let message: string | undefined;
  let result: Awaited<ReturnType<OidcClient['start']>>;
  try {
    result = await oidc.start(here);
  } catch {
    // A failed callback (bad state, refused code...): never retry it, offer a fresh sign-in.
    result = { kind: 'signed-out' };
    message = 'Sign-in did not complete. Please try again.';
  }
  if (result.kind === 'redirecting') return;
  if (here.search) {
    // Take the code and state out of the address bar and the browser history.
    window.history.replaceState(
      null,
      '',
      `${here.pathname}${result.kind === 'signed-in' ? result.returnTo : here.hash}`,
    );
  }
  render(
    <App
      config={config}
      oidc={oidc}
      initialSession={result.kind === 'signed-in' ? result.session : undefined}
      initialMessage={message}
    />,
    root,
  );
}

const root = document.getElementById('app');
if (root) {
  boot(root).catch((err: unknown) => {
    const p = document.createElement('p');
    p.setAttribute('role', 'alert');
    p.className = 'error';
    p.textContent = err instanceof Error ? err.message : 'FlixTube could not start.';
    root.replaceChildren(p);
  });
}
