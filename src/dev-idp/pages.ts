/**
 * The development identity provider's own pages. oidc-provider's built-in ones use
 * inline styles and scripts, which a strict CSP forbids; these use neither (one
 * stylesheet from the same origin), and every value is HTML-escaped.
 */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

function layout(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<link rel="stylesheet" href="/dev-idp.css">
</head>
<body>
<main>
${body}
</main>
</body>
</html>
`;
}

/**
 * The sign-in form. Stable hooks for end-to-end tests: form#dev-login,
 * input#email (name="email"), button#sign-in; the cancel form is form#dev-cancel
 * with button#cancel; a refused email shows p#login-error.
 */
export function loginPage(uid: string, options: { email?: string; error?: string } = {}): string {
  const u = encodeURIComponent(uid);
  const error = options.error ? `<p id="login-error" class="error" role="alert">${escapeHtml(options.error)}</p>\n` : '';
  return layout(
    'Sign in · Le Bureau development identity provider',
    `<h1>Development sign-in</h1>
<p class="warning">Local development identity provider: anyone can sign in here as any email address, with no password. It never runs in production.</p>
${error}<form id="dev-login" method="post" action="/interaction/${u}/login">
<label for="email">Email</label>
<input id="email" name="email" type="email" required autofocus autocomplete="email" maxlength="320" value="${escapeHtml(options.email ?? '')}">
<button id="sign-in" type="submit">Sign in</button>
</form>
<form id="dev-cancel" method="post" action="/interaction/${u}/abort">
<button id="cancel" type="submit">Cancel</button>
</form>`,
  );
}

export function errorPage(title: string, detail: string): string {
  return layout(`${title} · Le Bureau development identity provider`, `<h1>${escapeHtml(title)}</h1>\n<p id="idp-error">${escapeHtml(detail)}</p>`);
}

export const STYLESHEET = `body{font-family:system-ui,sans-serif;margin:0;background:#f4f4f5;color:#18181b}
main{max-width:24rem;margin:4rem auto;padding:2rem;background:#fff;border-radius:.5rem;box-shadow:0 1px 3px rgba(0,0,0,.15)}
h1{font-size:1.25rem;margin-top:0}
.warning{background:#fef3c7;border:1px solid #f59e0b;padding:.5rem .75rem;border-radius:.25rem;font-size:.875rem}
.error{color:#b91c1c}
label{display:block;font-weight:600;margin:1rem 0 .25rem}
input{width:100%;box-sizing:border-box;padding:.5rem;font-size:1rem}
button{margin-top:1rem;padding:.5rem 1rem;font-size:1rem;cursor:pointer}
#dev-cancel button{background:none;border:none;color:#52525b;text-decoration:underline;padding:0}
`;
