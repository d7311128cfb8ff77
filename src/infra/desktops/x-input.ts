/**
 * Pointer input through XTEST, kept in step with grabs other clients hold.
 *
 * A window manager that focuses on click (openbox does) grabs each button press
 * synchronously: the pointer stays frozen until it has handled the press and
 * replays it to the window. Events sent meanwhile are queued by the server and
 * delivered afterwards all at the last position (measured: a drag collapses into
 * a jump, the release of a click lands where the next click is), and key events,
 * which are not frozen, overtake the click (text typed into the window focused
 * before it). openbox usually releases within 1-2 ms but took over 20 ms on a
 * loaded machine, so no fixed delay is safe. Instead, after a press, the next
 * motion or key waits until QueryPointer shows that the server processed every
 * pointer event sent so far (position and buttons as expected), which it cannot
 * while frozen.
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { MouseButton } from '../../desktops/actions.ts';
import type { XConnection } from './x-connection.ts';

const BUTTONS: Record<MouseButton, number> = { left: 1, middle: 2, right: 3 };
// X has no scroll events: wheels are buttons 4/5 (up/down) and 6/7 (left/right), one press per notch.
const WHEEL = { up: 4, down: 5, left: 6, right: 7 } as const;
/** QueryPointer reports buttons 1-5 as bits 8-12 of its mask (6 and 7 have none). */
const BUTTON_MASKS = 0x1f00;
const buttonMask = (button: number) => (button <= 5 ? 1 << (7 + button) : 0);
/**
 * How long to wait for the pointer to catch up before going on regardless: a
 * person driving the live view at the same time, or a hung window manager, would
 * otherwise stall every batch.
 */
export const SETTLE_LIMIT_MS = 500;

export function buttonNumber(button: MouseButton | undefined): number {
  return BUTTONS[button ?? 'left'];
}

export class XPointer {
  private readonly held = new Set<number>();
  /** Where the last motion sent puts the pointer; null before the first. */
  private target: { x: number; y: number } | null = null;
  /** Sent events may still be frozen behind a grab: confirm before the next motion or key. */
  private unsettled = false;

  constructor(private readonly conn: XConnection) {}

  async moveTo(x: number, y: number): Promise<void> {
    await this.settle();
    this.conn.fakeInput('motion', 0 /* absolute */, x, y);
    this.target = { x, y };
    // While a button is held each point of the path must arrive on its own, or the path collapses.
    if (this.held.size > 0) this.unsettled = true;
  }

  press(button: number): void {
    this.conn.fakeInput('button_press', button);
    this.held.add(button);
    this.unsettled = true;
  }

  release(button: number): void {
    this.conn.fakeInput('button_release', button);
    this.held.delete(button);
  }

  /** `count` press/release pairs at one spot: they queue in order even behind a grab, within the double-click interval. */
  click(button: number, count: number): void {
    for (let i = 0; i < count; i++) {
      this.press(button);
      this.release(button);
    }
  }

  /** Positive dy scrolls down (content moves up), positive dx scrolls right; one wheel notch per unit. */
  scroll(dx: number, dy: number): void {
    this.click(dy > 0 ? WHEEL.down : WHEEL.up, Math.abs(dy));
    this.click(dx > 0 ? WHEEL.right : WHEEL.left, Math.abs(dx));
  }

  /** Left button down at the first point, through every point, up at the last. */
  async drag(path: ReadonlyArray<readonly [number, number]>): Promise<void> {
    const [first, ...rest] = path;
    await this.moveTo(first[0], first[1]);
    this.press(BUTTONS.left);
    for (const [x, y] of rest) await this.moveTo(x, y);
    this.release(BUTTONS.left);
  }

  /** Resolves once the server has processed the pointer events sent so far (or SETTLE_LIMIT_MS passed). */
  async settle(): Promise<void> {
    if (!this.unsettled) return;
    const expectedButtons = [...this.held].reduce((mask, b) => mask | buttonMask(b), 0);
    const deadline = performance.now() + SETTLE_LIMIT_MS;
    for (;;) {
      const now = await this.conn.queryPointer();
      const placed = this.target === null || (now.x === this.target.x && now.y === this.target.y);
      if (placed && (now.modifiers & BUTTON_MASKS) === expectedButtons) break;
      if (performance.now() > deadline) break;
      await delay(1);
    }
    this.unsettled = false;
  }
}
