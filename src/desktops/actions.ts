import { Problem } from '../core/problems.ts';
import type { Resolution } from './ports.ts';

/**
 * The actions an agent sends to a desktop: the union of what E2B Desktop, Scrapybara
 * and Anthropic's computer-use tool offer. Validated here, before anything reaches
 * the desktop, so a bad batch changes nothing.
 */
export type MouseButton = 'left' | 'right' | 'middle';

export type DesktopAction =
  | { type: 'move'; x: number; y: number }
  | { type: 'click'; x?: number; y?: number; button?: MouseButton; count?: 1 | 2 | 3 }
  | { type: 'mouse_down'; button?: MouseButton }
  | { type: 'mouse_up'; button?: MouseButton }
  | { type: 'drag'; path: Array<[number, number]> }
  | { type: 'scroll'; x?: number; y?: number; dx: number; dy: number }
  | { type: 'type'; text: string }
  | { type: 'key'; keys: string }
  | { type: 'wait'; ms: number };

export const ACTION_TYPES = ['move', 'click', 'mouse_down', 'mouse_up', 'drag', 'scroll', 'type', 'key', 'wait'] as const;
export const MAX_ACTIONS = 100;
export const MAX_WAIT_MS = 10_000;
/**
 * The waits of one batch together: batches of a desktop run one after another, so a
 * batch of 100 waits of 10 s held its input for 17 minutes.
 */
export const MAX_BATCH_WAIT_MS = 30_000;
export const MAX_TYPED_LENGTH = 10_000;
const MAX_DRAG_POINTS = 1000;
const MAX_SCROLL = 100;
const BUTTONS = new Set(['left', 'right', 'middle']);

const bad = (index: number, detail: string) => new Problem('validation_failed', `actions[${index}]: ${detail}`, undefined, { index });
const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);

/**
 * Checks a batch against the screen: unknown types, coordinates outside it, more than
 * MAX_ACTIONS. Throws a 400 problem naming the index of the first bad action.
 */
export function validateActions(input: unknown, screen: Resolution): DesktopAction[] {
  if (!Array.isArray(input)) throw new Problem('validation_failed', 'actions must be an array');
  if (input.length === 0) throw new Problem('validation_failed', 'actions must not be empty');
  if (input.length > MAX_ACTIONS) throw new Problem('validation_failed', `at most ${MAX_ACTIONS} actions per request`, undefined, { index: MAX_ACTIONS });
  const point = (i: number, x: unknown, y: unknown) => {
    if (!isInt(x) || !isInt(y)) throw bad(i, 'x and y must be whole numbers');
    if (x < 0 || y < 0 || x >= screen.width || y >= screen.height) {
      throw bad(i, `(${x}, ${y}) is outside the ${screen.width}x${screen.height} screen`);
    }
  };
  const optionalPoint = (i: number, a: Record<string, unknown>) => {
    if (a.x === undefined && a.y === undefined) return;
    point(i, a.x, a.y);
  };
  const button = (i: number, b: unknown) => {
    if (b !== undefined && !BUTTONS.has(b as string)) throw bad(i, 'button must be left, right or middle');
  };
  let waited = 0;
  return input.map((raw, i) => {
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw bad(i, 'must be an object');
    const a = raw as Record<string, unknown>;
    const allow = (...keys: string[]) => {
      for (const k of Object.keys(a)) if (k !== 'type' && !keys.includes(k)) throw bad(i, `unknown field "${k}" for ${String(a.type)}`);
    };
    switch (a.type) {
      case 'move':
        allow('x', 'y');
        point(i, a.x, a.y);
        break;
      case 'click':
        allow('x', 'y', 'button', 'count');
        optionalPoint(i, a);
        button(i, a.button);
        if (a.count !== undefined && a.count !== 1 && a.count !== 2 && a.count !== 3) throw bad(i, 'count must be 1, 2 or 3');
        break;
      case 'mouse_down':
      case 'mouse_up':
        allow('button');
        button(i, a.button);
        break;
      case 'drag': {
        allow('path');
        const path = a.path;
        if (!Array.isArray(path) || path.length < 2 || path.length > MAX_DRAG_POINTS) throw bad(i, `path must have 2 to ${MAX_DRAG_POINTS} points`);
        for (const p of path) {
          if (!Array.isArray(p) || p.length !== 2) throw bad(i, 'each point of path must be [x, y]');
          point(i, p[0], p[1]);
        }
        break;
      }
      case 'scroll':
        allow('x', 'y', 'dx', 'dy');
        optionalPoint(i, a);
        if (!isInt(a.dx) || !isInt(a.dy) || Math.abs(a.dx) > MAX_SCROLL || Math.abs(a.dy) > MAX_SCROLL) {
          throw bad(i, `dx and dy must be whole numbers from -${MAX_SCROLL} to ${MAX_SCROLL}`);
        }
        break;
      case 'type':
        allow('text');
        if (typeof a.text !== 'string' || a.text.length === 0 || a.text.length > MAX_TYPED_LENGTH) {
          throw bad(i, `text must be 1 to ${MAX_TYPED_LENGTH} characters`);
        }
        break;
      case 'key':
        allow('keys');
        if (typeof a.keys !== 'string' || !/^[A-Za-z0-9_]+(\+[A-Za-z0-9_]+)*$/.test(a.keys) || a.keys.length > 100) {
          throw bad(i, 'keys must be key names joined by +, e.g. "ctrl+shift+t"');
        }
        break;
      case 'wait':
        allow('ms');
        if (!isInt(a.ms) || a.ms < 0 || a.ms > MAX_WAIT_MS) throw bad(i, `ms must be 0 to ${MAX_WAIT_MS}`);
        waited += a.ms;
        if (waited > MAX_BATCH_WAIT_MS) throw bad(i, `the waits of a batch add up to at most ${MAX_BATCH_WAIT_MS} ms`);
        break;
      default:
        throw bad(i, `unknown action type "${String(a.type)}" (expected one of ${ACTION_TYPES.join(', ')})`);
    }
    return a as DesktopAction;
  });
}
