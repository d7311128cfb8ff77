import { type SignInFailureCode, signInFailures } from '../auth/oauth/errors.ts';

/**
 * The page a browser lands on when a sign-in fails: fixed text per failure code,
 * nothing from the request or the provider echoed, no script or style (the API's
 * CSP applies). The code is in main[data-code] for tests and support.
 */
export function signInFailurePage(code: SignInFailureCode | 'server_error'): string {
  const message = code === 'server_error' ? 'Something went wrong on our side. Try again in a moment.' : signInFailures[code].message;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign-in failed · Le Bureau</title>
</head>
<body>
<main id="sign-in-error" data-code="${code}">
<h1>Sign-in failed</h1>
<p>${message}</p>
<p>Error code: <code>${code}</code></p>
<p><a href="/">Back to Le Bureau</a></p>
</main>
</body>
</html>
`;
}
