import type { FastifyInstance } from 'fastify';

/**
 * Just enough of a browser for sign-in flows, without a browser: a cookie jar
 * (per host, ignoring ports as browsers do; Path, Max-Age and Expires honoured) and
 * manual redirect following. Requests to the app's public origin go through
 * app.inject (so BUREAU_PUBLIC_URL can be an https URL nobody listens on);
 * everything else (identity providers on loopback) goes over real HTTP with fetch.
 * Without an app (null), every request goes over real HTTP, to a server that listens.
 */
export interface Page {
  url: string;
  status: number;
  headers: Record<string, string>;
  setCookies: string[];
  body: string;
}

interface StoredCookie {
  value: string;
  path: string;
}

export class TestBrowser {
  private readonly jar = new Map<string, Map<string, StoredCookie>>();
  /** Every response seen, in order (redirect hops included). */
  readonly history: Page[] = [];

  constructor(
    private readonly app: FastifyInstance | null,
    private readonly appOrigin: string,
    private readonly userAgent = 'TestBrowser/1.0',
  ) {}

  /** GET (or POST a form) and follow redirects; returns the last response. */
  async navigate(
    url: string,
    init: { method?: string; form?: Record<string, string>; maxHops?: number; stopAfter?: (page: Page) => boolean } = {},
  ): Promise<Page> {
    let page = await this.request(url, init.method ?? 'GET', init.form);
    for (let hops = 0; hops < (init.maxHops ?? 20) && page.status >= 300 && page.status < 400 && page.headers.location; hops++) {
      if (init.stopAfter?.(page)) break;
      const next = new URL(page.headers.location, page.url).href;
      // 303 (and 302 after a POST) continue as GET, as browsers do.
      page = await this.request(next, 'GET');
    }
    return page;
  }

  /** One request, no redirect following. */
  async request(url: string, method = 'GET', form?: Record<string, string>): Promise<Page> {
    const target = new URL(url);
    const headers: Record<string, string> = { 'user-agent': this.userAgent };
    const cookie = this.cookieHeader(target);
    if (cookie) headers.cookie = cookie;
    const body = form ? new URLSearchParams(form).toString() : undefined;
    if (body !== undefined) headers['content-type'] = 'application/x-www-form-urlencoded';
    let page: Page;
    if (this.app && target.origin === this.appOrigin) {
      const res = await this.app.inject({ method: method as 'GET', url: `${target.pathname}${target.search}`, headers, payload: body });
      const raw = res.headers['set-cookie'];
      page = {
        url: target.href,
        status: res.statusCode,
        headers: Object.fromEntries(Object.entries(res.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : String(v)])),
        setCookies: raw === undefined ? [] : Array.isArray(raw) ? raw : [raw],
        body: res.body,
      };
    } else {
      const res = await fetch(target, { method, headers, body, redirect: 'manual' });
      page = {
        url: target.href,
        status: res.status,
        headers: Object.fromEntries(res.headers.entries()),
        setCookies: res.headers.getSetCookie(),
        body: await res.text(),
      };
    }
    for (const line of page.setCookies) this.store(target, line);
    this.history.push(page);
    return page;
  }

  cookie(host: string, name: string): string | undefined {
    return this.jar.get(host)?.get(name)?.value;
  }

  setCookie(host: string, name: string, value: string): void {
    this.hostJar(host).set(name, { value, path: '/' });
  }

  deleteCookie(host: string, name: string): void {
    this.jar.get(host)?.delete(name);
  }

  private hostJar(host: string): Map<string, StoredCookie> {
    let m = this.jar.get(host);
    if (!m) this.jar.set(host, (m = new Map()));
    return m;
  }

  private cookieHeader(url: URL): string {
    const m = this.jar.get(url.hostname);
    if (!m) return '';
    return [...m.entries()]
      .filter(([, c]) => url.pathname.startsWith(c.path))
      .map(([name, c]) => `${name}=${c.value}`)
      .join('; ');
  }

  private store(url: URL, line: string): void {
    const [pair, ...attrs] = line.split(';').map((s) => s.trim());
    const eq = pair.indexOf('=');
    const name = pair.slice(0, eq);
    const value = pair.slice(eq + 1);
    let path = '/';
    let expired = false;
    for (const a of attrs) {
      const [k, v = ''] = a.split('=');
      const key = k.toLowerCase();
      if (key === 'path') path = v || '/';
      if (key === 'max-age' && Number(v) <= 0) expired = true;
      if (key === 'expires' && Date.parse(v) <= Date.now()) expired = true;
    }
    if (expired) this.hostJar(url.hostname).delete(name);
    else this.hostJar(url.hostname).set(name, { value, path });
  }
}

/** The attributes of one Set-Cookie line, by lower-cased name. */
export function cookieAttributes(line: string): { name: string; value: string; attrs: Map<string, string> } {
  const [pair, ...rest] = line.split(';').map((s) => s.trim());
  const eq = pair.indexOf('=');
  const attrs = new Map<string, string>();
  for (const a of rest) {
    const i = a.indexOf('=');
    attrs.set((i === -1 ? a : a.slice(0, i)).toLowerCase(), i === -1 ? '' : a.slice(i + 1));
  }
  return { name: pair.slice(0, eq), value: pair.slice(eq + 1), attrs };
}
