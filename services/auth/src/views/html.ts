const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Escapes text for HTML element content and quoted attribute values. */
export function esc(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

export const STYLESHEET_PATH = '/static/auth.css';

/**
 * The pages' policy: nothing but our stylesheet and forms posting to ourselves; no
 * scripts at all, no framing (clickjacking), no referrer (the URLs carry state).
 */
export const PAGE_CSP =
  "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; " +
  "frame-ancestors 'none'; base-uri 'none'";

export const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy': PAGE_CSP,
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

export function layout(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)} · Flotilla</title>
<link rel="stylesheet" href="${STYLESHEET_PATH}">
</head>
<body>
<main class="card">
<h1>${esc(title)}</h1>
${body}
</main>
</body>
</html>
`;
}

export const STYLESHEET = `body{font-family:system-ui,sans-serif;background:#f4f5f7;color:#1b1f24;margin:0}
.card{max-width:22rem;margin:4rem auto;padding:2rem;background:#fff;border-radius:.5rem;box-shadow:0 1px 3px rgba(0,0,0,.2)}
h1{font-size:1.4rem;margin-top:0}label{display:block;margin:.8rem 0 .3rem;font-weight:600}
input{width:100%;box-sizing:border-box;padding:.5rem;font-size:1rem;border:1px solid #8a94a0;border-radius:.25rem}
input:focus,button:focus{outline:3px solid #1a5fb4;outline-offset:1px}
button{margin-top:1.2rem;padding:.6rem 1rem;font-size:1rem;border:0;border-radius:.25rem;background:#1a5fb4;color:#fff;cursor:pointer}
button.secondary{background:#5e6b78}.error{color:#a51d2d;font-weight:600}ul{padding-left:1.2rem}
`;
