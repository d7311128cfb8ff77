import type { Page } from 'playwright-core';
import { PNG } from 'pngjs';
import { expect } from 'vitest';
import type { LiveServer } from './browser.ts';

/** The API as a program uses it, with a key. */
export function keyApi(server: LiveServer, key: string) {
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(server.base + path, {
      method,
      headers: { 'x-api-key': key, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return res;
  };
  return {
    call,
    json: async <T = any>(method: string, path: string, body?: unknown): Promise<T> => (await call(method, path, body)).json() as Promise<T>,
    state: async (id: string): Promise<string> => ((await (await call('GET', `/api/desktops/${id}`)).json()) as { state: string }).state,
    cursor: async (id: string): Promise<{ x: number; y: number }> =>
      (await call('GET', `/api/desktops/${id}/cursor`)).json() as Promise<{ x: number; y: number }>,
    screenshot: async (id: string): Promise<PNG> => PNG.sync.read(Buffer.from(await (await call('GET', `/api/desktops/${id}/screenshot`)).arrayBuffer())),
    exec: async (id: string, command: string) =>
      (await call('POST', `/api/desktops/${id}/exec`, { command })).json() as Promise<{ exitCode: number | null; stdout: string; stderr: string }>,
  };
}

export type KeyApi = ReturnType<typeof keyApi>;

/** Waits until the desktop is `state` (a real one takes a second or two to start). */
export async function waitForState(api: KeyApi, id: string, state: string, timeout = 30_000): Promise<void> {
  await expect.poll(() => api.state(id), { timeout, interval: 250 }).toBe(state);
}

const CANVAS = '[data-testid="live-screen"] canvas';

/**
 * What the live screen's canvas shows: its size (the desktop's) and the colours at a
 * grid of points (40 × 25), read from the canvas itself.
 */
export async function canvasSample(page: Page): Promise<{ width: number; height: number; points: number[][] } | null> {
  return page.evaluate((selector) => {
    const c = document.querySelector(selector) as HTMLCanvasElement | null;
    if (!c || c.width === 0 || c.height === 0) return null;
    const data = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    const points: number[][] = [];
    for (let gy = 0; gy < 25; gy++) {
      for (let gx = 0; gx < 40; gx++) {
        const x = Math.floor(((gx + 0.5) * c.width) / 40);
        const y = Math.floor(((gy + 0.5) * c.height) / 25);
        const i = (y * c.width + x) * 4;
        points.push([x, y, data[i], data[i + 1], data[i + 2]]);
      }
    }
    return { width: c.width, height: c.height, points };
  }, CANVAS);
}

/**
 * The canvas shows the desktop: not blank (several colours), and like the API's
 * screenshot taken now (mean difference per channel under 12 of 255: the view's
 * encoding may be lossy JPEG).
 */
export async function expectCanvasShowsDesktop(page: Page, api: KeyApi, id: string): Promise<void> {
  await expect
    .poll(
      async () => {
        const sample = await canvasSample(page);
        if (!sample) return 'no canvas yet';
        const colours = new Set(sample.points.map(([, , r, g, b]) => `${r},${g},${b}`));
        if (colours.size < 3) return `blank: ${colours.size} colour(s)`;
        const png = await api.screenshot(id);
        if (png.width !== sample.width || png.height !== sample.height) return `size ${sample.width}x${sample.height}, desktop ${png.width}x${png.height}`;
        let diff = 0;
        for (const [x, y, r, g, b] of sample.points) {
          const i = (y * png.width + x) * 4;
          diff += Math.abs(png.data[i] - r) + Math.abs(png.data[i + 1] - g) + Math.abs(png.data[i + 2] - b);
        }
        const mean = diff / (sample.points.length * 3);
        return mean < 12 ? 'shows the desktop' : `differs from the screenshot by ${mean.toFixed(1)} on average`;
      },
      { timeout: 15_000, interval: 250 },
    )
    .toBe('shows the desktop');
}

/** Where on the page (viewport coordinates) the desktop's point (x, y) is drawn, the canvas scaled to fit. */
export async function pagePoint(page: Page, x: number, y: number): Promise<{ x: number; y: number }> {
  return page.evaluate(
    ([selector, x, y]) => {
      const c = document.querySelector(selector as string) as HTMLCanvasElement;
      const r = c.getBoundingClientRect();
      return { x: r.left + (((x as number) + 0.5) * r.width) / c.width, y: r.top + (((y as number) + 0.5) * r.height) / c.height };
    },
    [CANVAS, x, y] as const,
  );
}
