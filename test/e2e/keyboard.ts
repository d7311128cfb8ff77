import type { Page } from 'playwright-core';

/** What has the keyboard focus: its aria-label, else its id, else its text. */
export function focused(page: Page): Promise<string | null> {
  return page.evaluate(() => {
    const el = document.activeElement;
    return el ? el.getAttribute('aria-label') || el.id || el.textContent : null;
  });
}

/** The data-testid row (and its text) holding the focus, if any: where a list put it. */
export function focusedRow(page: Page, testId: string): Promise<string | null> {
  return page.evaluate((id) => document.activeElement?.closest(`[data-testid="${id}"]`)?.textContent ?? null, testId);
}

/** Presses Tab until `target` (see focused()) has the focus: proof it is reachable by keyboard. */
export async function tabTo(page: Page, target: string, maxPresses = 40): Promise<number> {
  for (let i = 0; i < maxPresses; i++) {
    if ((await focused(page)) === target) return i;
    await page.keyboard.press('Tab');
  }
  throw new Error(`${target} cannot be reached with Tab`);
}
