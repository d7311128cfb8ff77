import { type RefObject, useEffect, useState } from 'react';
import { ApiError, api } from './api.ts';

/**
 * How often thumbnails refresh: every 5 s, less often the more desktops run, so that
 * together they take at most 30 requests a minute (a quarter of a session's general
 * budget, BUREAU_RATE_LIMIT_PER_MINUTE = 120 by default).
 */
export function thumbnailEveryMs(running: number): number {
  return Math.max(5000, running * 2000);
}

/** A PNG as a data: URL. The CSP's img-src allows 'self' and data:, not blob:, so no blob URL. */
function dataUrl(blob: Blob): Promise<string> {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result));
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(blob);
  });
}

/**
 * A running desktop's screenshot, refreshed every `everyMs` while its element is on
 * screen and the page is visible: nothing is asked while the tab is hidden or the row
 * scrolled away. Screenshots never count as using a desktop (src/desktops/idle.ts), so
 * an open page of thumbnails does not keep one from being stopped as idle.
 */
export function useThumbnail(desktopId: string, running: boolean, everyMs: number, element: RefObject<HTMLElement | null>): string | null {
  const [src, setSrc] = useState<string | null>(null);

  useEffect(() => {
    if (!running) {
      setSrc(null);
      return;
    }
    let stopped = false;
    let inFlight = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let inView = false;
    let lastAt = 0;
    let notBefore = 0;

    const wanted = () => !stopped && inView && document.visibilityState === 'visible';
    const next = () => {
      if (timer !== undefined || inFlight || !wanted()) return;
      const due = Math.max(lastAt + everyMs, notBefore);
      const wait = due - Date.now();
      if (wait > 0) {
        timer = setTimeout(() => {
          timer = undefined;
          next();
        }, wait);
        return;
      }
      inFlight = true;
      lastAt = Date.now();
      api
        .screenshot(desktopId)
        .then(dataUrl)
        .then(
          (url) => {
            if (!stopped) setSrc(url);
          },
          (err: unknown) => {
            // Not running (any more), gone, or not ours: the list's next reload says so; stop asking.
            if (err instanceof ApiError && [401, 403, 404, 409].includes(err.status)) stopped = true;
            else if (err instanceof ApiError && err.retryAt !== null) notBefore = err.retryAt;
          },
        )
        .finally(() => {
          inFlight = false;
          next();
        });
    };

    const observer = new IntersectionObserver((entries) => {
      inView = entries.some((e) => e.isIntersecting);
      next();
    });
    if (element.current) observer.observe(element.current);
    document.addEventListener('visibilitychange', next);
    return () => {
      stopped = true;
      clearTimeout(timer);
      observer.disconnect();
      document.removeEventListener('visibilitychange', next);
    };
  }, [desktopId, running, everyMs, element]);

  return src;
}
