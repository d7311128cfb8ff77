/**
 * Keys through XTEST: finds the keycode (and whether Shift is needed) for each
 * keysym in the server's keymap, and puts any other keysym (é, ✓, 日, 😀, a key the
 * layout lacks) on a spare keycode, one with no symbols, before pressing it.
 *
 * Why not remap one scratch keycode per character, as xdotool does: an X client
 * looks a keycode up lazily, when it handles the key event, against the server's
 * keymap *at that moment*. Remapping the same keycode for the next character
 * before the client got to the previous one makes it see the wrong character,
 * which is how xdotool drops non-ASCII text when it types fast. So here:
 * - every distinct character gets its own spare keycode, kept while it is in use,
 *   so the mapping under a pending key event does not change;
 * - each remap is followed by a round trip, so the server applied it (and any
 *   error surfaced) before the key press goes out;
 * - a spare is reassigned, least recently used first, only REUSE_GUARD_MS after
 *   its last press (text with more distinct characters than spares slows down,
 *   it does not lose characters);
 * - spares are cleared again once typing has been idle for RESTORE_IDLE_MS, and
 *   on close.
 */
import type { XConnection } from './x-connection.ts';
import { isModifierKeysym, KEYSYM } from './x-keysyms.ts';

/** How long a client may take to handle a key event before its keycode is given another character. */
export const REUSE_GUARD_MS = 100;
/**
 * Spares are given back after this much idleness. Long enough to span an agent's
 * think time between two batches, so a character it types again needs no remap:
 * every remap (a restore too) makes each client re-read the keymap, and openbox
 * re-grabs its key bindings, ~50 ms of its CPU per remap (measured).
 */
export const RESTORE_IDLE_MS = 30_000;
/** Empty keycodes left alone at the top of the range: Xvnc puts keysyms a VNC viewer sends but the layout lacks there. */
const SPARES_LEFT_FOR_XVNC = 4;
const LOCK_MASK = 0x02;

interface KeyPosition {
  keycode: number;
  shifted: boolean;
}

interface SpareUse {
  keysym: number;
  lastPressed: number;
}

export class XKeyboard {
  /** keysym -> where the layout has it, as last read from the server. */
  private layout = new Map<number, KeyPosition>();
  /** Not read yet, or someone else changed the keymap since: read it before the next key. */
  private stale = true;
  private freeSpares: number[] = [];
  private readonly spares = new Map<number, SpareUse>();
  private readonly spareByKeysym = new Map<number, number>();
  /** Keycodes of our own remaps whose MappingNotify has not come back yet. */
  private readonly ownChanges: number[] = [];
  private restoreTimer: NodeJS.Timeout | null = null;
  private busy = false;

  constructor(private readonly conn: XConnection) {
    conn.onKeyboardMapping((first, count) => {
      const own = count === 1 ? this.ownChanges.indexOf(first) : -1;
      if (own >= 0) this.ownChanges.splice(own, 1);
      else this.stale = true; // someone else (setxkbmap, Xvnc) changed it
    });
  }

  /** Presses the keysyms in order and releases them in reverse; adds Shift when a key needs it and none is named. */
  async pressCombo(keysyms: number[]): Promise<void> {
    await this.using(async () => {
      const positions: KeyPosition[] = [];
      for (const keysym of keysyms) positions.push(await this.position(keysym));
      const shiftNamed = keysyms.some((k) => k === KEYSYM.Shift_L || k === 0xffe2 /* Shift_R */);
      const keycodes: number[] = [];
      positions.forEach((pos, i) => {
        if (pos.shifted && !shiftNamed && !isModifierKeysym(keysyms[i]) && !keycodes.includes(this.shiftKeycode())) {
          keycodes.push(this.shiftKeycode());
        }
        keycodes.push(pos.keycode);
      });
      for (const keycode of keycodes) this.conn.fakeInput('key_press', keycode);
      for (const keycode of [...keycodes].reverse()) this.conn.fakeInput('key_release', keycode);
      this.touch(keycodes);
    });
  }

  /** Types each keysym as one key press (with Shift where the layout needs it), Caps Lock notwithstanding. */
  async type(keysyms: number[]): Promise<void> {
    await this.using(async () => {
      if (this.stale) await this.loadLayout();
      const capsLock = await this.capsLockKeycodeIfOn();
      if (capsLock !== null) this.tap(capsLock);
      for (const keysym of keysyms) {
        const pos = await this.position(keysym);
        if (pos.shifted) this.conn.fakeInput('key_press', this.shiftKeycode());
        this.tap(pos.keycode);
        if (pos.shifted) this.conn.fakeInput('key_release', this.shiftKeycode());
        this.touch([pos.keycode]);
      }
      if (capsLock !== null) this.tap(capsLock);
    });
  }

  /** Clears every spare now (before closing the connection). */
  restoreNow(): void {
    if (this.restoreTimer) clearTimeout(this.restoreTimer);
    this.restoreTimer = null;
    if (this.conn.closed) return;
    for (const keycode of this.spares.keys()) {
      this.remap(keycode, 0);
      this.freeSpares.push(keycode);
    }
    this.spares.clear();
    this.spareByKeysym.clear();
  }

  private async using(work: () => Promise<void>): Promise<void> {
    this.busy = true;
    try {
      await work();
    } finally {
      this.busy = false;
      this.scheduleRestore();
    }
  }

  private tap(keycode: number): void {
    this.conn.fakeInput('key_press', keycode);
    this.conn.fakeInput('key_release', keycode);
  }

  private touch(keycodes: number[]): void {
    const now = performance.now();
    for (const keycode of keycodes) {
      const use = this.spares.get(keycode);
      if (use) use.lastPressed = now;
    }
  }

  private shiftKeycode(): number {
    const pos = this.layout.get(KEYSYM.Shift_L);
    if (!pos) throw new Error('the X keyboard has no Shift key');
    return pos.keycode;
  }

  /** Caps Lock would turn typed "a" into "A": when it is on, it is switched off for the typing and on again after. */
  private async capsLockKeycodeIfOn(): Promise<number | null> {
    const { modifiers } = await this.conn.queryPointer();
    if (!(modifiers & LOCK_MASK)) return null;
    return this.layout.get(KEYSYM.Caps_Lock)?.keycode ?? null;
  }

  private async position(keysym: number): Promise<KeyPosition> {
    const layout = this.stale ? await this.loadLayout() : this.layout;
    const onLayout = layout.get(keysym);
    if (onLayout) return onLayout;
    const spare = this.spareByKeysym.get(keysym);
    if (spare !== undefined) return { keycode: spare, shifted: false };
    return { keycode: await this.claimSpare(keysym), shifted: false };
  }

  private async claimSpare(keysym: number): Promise<number> {
    let keycode = this.freeSpares.shift();
    if (keycode === undefined) {
      let oldest: [number, SpareUse] | undefined;
      for (const entry of this.spares) if (!oldest || entry[1].lastPressed < oldest[1].lastPressed) oldest = entry;
      if (!oldest) throw new Error('the X keyboard has no spare keycode to type this character with');
      const [victim, use] = oldest;
      const wait = use.lastPressed + REUSE_GUARD_MS - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      // The wait may have let a MappingNotify in: the victim is only ours if it is still listed.
      if (this.spares.get(victim) !== use) return this.claimSpare(keysym);
      this.spares.delete(victim);
      this.spareByKeysym.delete(use.keysym);
      keycode = victim;
    }
    this.remap(keycode, keysym);
    this.spares.set(keycode, { keysym, lastPressed: performance.now() });
    this.spareByKeysym.set(keysym, keycode);
    await this.conn.sync();
    return keycode;
  }

  private remap(keycode: number, keysym: number): void {
    this.ownChanges.push(keycode);
    // Both levels carry the keysym, so Shift held by someone else still types it.
    this.conn.changeKeyboardMapping(keycode, [keysym, keysym]);
  }

  private async loadLayout(): Promise<Map<number, KeyPosition>> {
    const rows = await this.conn.getKeyboardMapping();
    const layout = new Map<number, KeyPosition>();
    const empty: number[] = [];
    rows.forEach((row, i) => {
      const keycode = this.conn.screen.minKeycode + i;
      const ours = this.spares.get(keycode);
      if (ours) {
        if (row[0] === ours.keysym) return; // still the spare we set
        // Someone else took it over: it is a layout key now.
        this.spares.delete(keycode);
        this.spareByKeysym.delete(ours.keysym);
      }
      if (row.every((keysym) => keysym === 0)) {
        empty.push(keycode);
        return;
      }
      // Group 1 only: level 1 as is, level 2 with Shift. Unshifted positions win.
      const [plain, shifted] = row;
      if (plain !== 0 && (layout.get(plain)?.shifted ?? true)) layout.set(plain, { keycode, shifted: false });
      if (shifted !== 0 && shifted !== plain && !layout.has(shifted)) layout.set(shifted, { keycode, shifted: true });
    });
    this.freeSpares = empty.slice(0, Math.max(0, empty.length - SPARES_LEFT_FOR_XVNC));
    this.layout = layout;
    this.stale = false;
    return layout;
  }

  private scheduleRestore(): void {
    if (this.restoreTimer) clearTimeout(this.restoreTimer);
    this.restoreTimer = null;
    if (this.spares.size === 0) return;
    this.restoreTimer = setTimeout(() => {
      this.restoreTimer = null;
      if (this.busy) this.scheduleRestore();
      else this.restoreNow();
    }, RESTORE_IDLE_MS);
    this.restoreTimer.unref();
  }
}
