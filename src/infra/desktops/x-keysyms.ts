/**
 * What to press, as X keysyms, for key combos ("ctrl+shift+t") and typed text.
 * Pure functions: which keycode carries a keysym is the keyboard's business
 * (x-keyboard.ts). Everything here throws before anything is sent, so a batch
 * with an unknown key name or an untypable character changes nothing.
 */
import { createRequire } from 'node:module';
import { Problem } from '../../core/problems.ts';

const keysymTable = createRequire(import.meta.url)('x11').keySyms as Record<string, { code: number }>;

export const KEYSYM = {
  Return: 0xff0d,
  Tab: 0xff09,
  Shift_L: 0xffe1,
  Control_L: 0xffe3,
  Caps_Lock: 0xffe5,
  Alt_L: 0xffe9,
  Super_L: 0xffeb,
} as const;

/** Names agents use (xdotool's, the computer-use tools', a browser's), lower-cased, to X keysym names. */
const ALIASES: Record<string, string> = {
  ctrl: 'Control_L',
  control: 'Control_L',
  lctrl: 'Control_L',
  rctrl: 'Control_R',
  shift: 'Shift_L',
  lshift: 'Shift_L',
  rshift: 'Shift_R',
  alt: 'Alt_L',
  lalt: 'Alt_L',
  ralt: 'Alt_R',
  option: 'Alt_L',
  altgr: 'ISO_Level3_Shift',
  super: 'Super_L',
  meta: 'Super_L',
  cmd: 'Super_L',
  command: 'Super_L',
  win: 'Super_L',
  windows: 'Super_L',
  enter: 'Return',
  return: 'Return',
  esc: 'Escape',
  escape: 'Escape',
  tab: 'Tab',
  backspace: 'BackSpace',
  delete: 'Delete',
  del: 'Delete',
  insert: 'Insert',
  ins: 'Insert',
  home: 'Home',
  end: 'End',
  pageup: 'Prior',
  page_up: 'Prior',
  pgup: 'Prior',
  pagedown: 'Next',
  page_down: 'Next',
  pgdn: 'Next',
  up: 'Up',
  down: 'Down',
  left: 'Left',
  right: 'Right',
  arrowup: 'Up',
  arrowdown: 'Down',
  arrowleft: 'Left',
  arrowright: 'Right',
  space: 'space',
  spacebar: 'space',
  capslock: 'Caps_Lock',
  caps_lock: 'Caps_Lock',
  numlock: 'Num_Lock',
  printscreen: 'Print',
  print: 'Print',
  prtsc: 'Print',
  menu: 'Menu',
  pause: 'Pause',
  scrolllock: 'Scroll_Lock',
  minus: 'minus',
  plus: 'plus',
  equal: 'equal',
  equals: 'equal',
  comma: 'comma',
  period: 'period',
  slash: 'slash',
  backslash: 'backslash',
  semicolon: 'semicolon',
  apostrophe: 'apostrophe',
  quote: 'apostrophe',
  grave: 'grave',
  backtick: 'grave',
  bracketleft: 'bracketleft',
  bracketright: 'bracketright',
};

const MODIFIER_KEYSYMS = new Set(
  ['Shift_L', 'Shift_R', 'Control_L', 'Control_R', 'Alt_L', 'Alt_R', 'Meta_L', 'Meta_R', 'Super_L', 'Super_R', 'Hyper_L', 'Hyper_R', 'ISO_Level3_Shift'].map(
    (n) => keysymTable[`XK_${n}`].code,
  ),
);

const lowerCaseNames = new Map<string, number>();
for (const [name, { code }] of Object.entries(keysymTable)) {
  const key = name.slice(3).toLowerCase();
  if (!lowerCaseNames.has(key)) lowerCaseNames.set(key, code);
}

export function isModifierKeysym(keysym: number): boolean {
  return MODIFIER_KEYSYMS.has(keysym);
}

/** The keysym that produces this Unicode code point, or null for control characters and lone surrogates. */
export function keysymForCodePoint(cp: number): number | null {
  if ((cp >= 0x20 && cp <= 0x7e) || (cp >= 0xa0 && cp <= 0xff)) return cp; // Latin-1 keysyms equal the code point
  if (cp < 0xa0 || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) return null;
  return 0x1000000 + cp; // X's Unicode keysym range, understood by Xlib, GTK, Qt and xkbcommon
}

/**
 * One key name: an alias ("ctrl", "pagedown", "f5"), a single character, or an X
 * keysym name ("KP_Enter", "Prior"), case-insensitively. A letter names its key,
 * not its case: "ctrl+A" is ctrl+a, as shortcuts are written; shift must be named.
 */
export function keysymForName(name: string): number {
  const lower = name.toLowerCase();
  const alias = ALIASES[lower];
  if (alias) return keysymTable[`XK_${alias}`].code;
  const fkey = /^f([1-9]|1[0-9]|2[0-4])$/.exec(lower);
  if (fkey) return keysymTable[`XK_F${fkey[1]}`].code;
  if ([...name].length === 1) {
    const keysym = keysymForCodePoint(lower.codePointAt(0) ?? 0);
    if (keysym !== null) return keysym;
  }
  const exact = keysymTable[`XK_${name}`];
  if (exact) return exact.code;
  const loose = lowerCaseNames.get(lower);
  if (loose !== undefined) return loose;
  throw new Problem('validation_failed', `unknown key "${name}"`);
}

/** "ctrl+shift+t" as keysyms, in the order they are pressed. */
export function parseKeyCombo(keys: string): number[] {
  const names = keys.split('+');
  if (names.some((n) => n.length === 0)) throw new Problem('validation_failed', `"${keys}" has an empty key name`);
  return names.map(keysymForName);
}

/**
 * Text as the keysyms that type it, one per character: "\n", "\r" and "\r\n" are
 * Return, "\t" is Tab. Control characters cannot be typed and are refused, with
 * their position (never the text: it may be a password).
 */
export function keysymsForText(text: string): number[] {
  const keysyms: number[] = [];
  let index = 0;
  let previousWasCr = false;
  for (const ch of text) {
    const cp = ch.codePointAt(0) ?? 0;
    if (cp === 0x0a && previousWasCr) {
      previousWasCr = false;
      index += ch.length;
      continue;
    }
    previousWasCr = cp === 0x0d;
    if (cp === 0x0a || cp === 0x0d) keysyms.push(KEYSYM.Return);
    else if (cp === 0x09) keysyms.push(KEYSYM.Tab);
    else {
      const keysym = keysymForCodePoint(cp);
      if (keysym === null) {
        throw new Problem(
          'validation_failed',
          `text has a character that cannot be typed (U+${cp.toString(16).toUpperCase().padStart(4, '0')} at index ${index})`,
        );
      }
      keysyms.push(keysym);
    }
    index += ch.length;
  }
  return keysyms;
}
