import type RFB from '@novnc/novnc';
import { useEffect, useId, useRef, useState } from 'react';
import { type Verdict, type ViewClose, reconnectDelayMs } from '../view-drops.ts';

/*
 * A desktop's live screen: noVNC's RFB over the live view's WebSocket. noVNC is bundled
 * into our own /assets/ (script-src 'self') as a chunk of its own, fetched the first time
 * a screen is shown: a first visit does not pay for it. It is imported here, inside the
 * effect, rather than by React.lazy on this component: noVNC has a top-level await, which
 * turns off the bundler's merging of shared chunks, so a lazy component sharing React
 * with the entry would add a third file to every first visit.
 */
let novnc: Promise<typeof RFB> | null = null;
function loadNoVnc(): Promise<typeof RFB> {
  novnc ??= import('@novnc/novnc').then(
    (m) => m.default,
    (err: unknown) => {
      novnc = null;
      throw err;
    },
  );
  return novnc;
}

export interface LiveScreenProps {
  /** The view's WebSocket URL (view-link.ts, viewSocketUrl). */
  url: string;
  /** Nothing is sent to the desktop (noVNC's viewOnly): no key, click or pointer move. */
  viewOnly: boolean;
  /** What the screen shows, for assistive technology: 'the desktop “research”'. */
  label: string;
  /** Why it closed, and whether to reconnect (view-drops.ts). */
  explain(close: ViewClose): Promise<Verdict>;
  /** WIDTHxHEIGHT when known: the screen keeps that shape. Else it fills the window's height. */
  resolution?: string | null;
}

type Phase =
  | { kind: 'connecting' }
  | { kind: 'connected' }
  | { kind: 'checking' }
  | { kind: 'waiting'; message: string; retryAt: number }
  | { kind: 'ended'; message: string };

/** A connection that stayed up this long was a success: the next drop is retried at once again. */
const STABLE_MS = 10_000;
/** Escape then Tab, within this long, leaves the screen (every other key goes to the desktop). */
const LEAVE_WINDOW_MS = 2000;

const MODIFIERS = new Set(['Shift', 'Control', 'Alt', 'Meta', 'AltGraph', 'CapsLock']);

const TABBABLE = 'a[href], button:not([disabled]), input:not([disabled]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';

/** A radio button Tab skips: another of its group is checked. */
const skippedRadio = (el: HTMLElement) =>
  el instanceof HTMLInputElement &&
  el.type === 'radio' &&
  !el.checked &&
  document.querySelector(`input[type="radio"][name="${CSS.escape(el.name)}"]:checked`) !== null;

/** Moves the focus to the element before or after `from` in the tab order. */
function focusNextTo(from: HTMLElement, backwards: boolean): void {
  const all = [...document.querySelectorAll<HTMLElement>(TABBABLE)].filter(
    (el) => el === from || (el.tabIndex >= 0 && el.getClientRects().length > 0 && !skippedRadio(el)),
  );
  const at = all.indexOf(from);
  const next = all[at + (backwards ? -1 : 1)];
  (next ?? document.getElementById('main'))?.focus();
}

export function LiveScreen({ url, viewOnly, label, explain, resolution = null }: LiveScreenProps) {
  const frame = useRef<HTMLDivElement>(null);
  const target = useRef<HTMLDivElement>(null);
  const rfbRef = useRef<RFB | null>(null);
  const explainRef = useRef(explain);
  explainRef.current = explain;
  const viewOnlyRef = useRef(viewOnly);
  viewOnlyRef.current = viewOnly;
  const labelRef = useRef(label);
  labelRef.current = label;
  const failures = useRef(0);
  const [attempt, setAttempt] = useState(0);
  const [phase, setPhase] = useState<Phase>({ kind: 'connecting' });
  const hintId = useId();

  /** The canvas noVNC draws on: reachable with Tab and named as the desktop while it can take input. */
  const dressCanvas = () => {
    const canvas = target.current?.querySelector('canvas');
    if (!canvas) return;
    const control = !viewOnlyRef.current;
    canvas.tabIndex = control ? 0 : -1;
    // 'application': a screen reader passes keys through to it, as they go to the desktop.
    canvas.setAttribute('role', control ? 'application' : 'img');
    canvas.setAttribute('aria-roledescription', 'remote desktop');
    canvas.setAttribute('aria-label', `Screen of ${labelRef.current}${control ? '' : ', view only'}`);
    if (control) canvas.setAttribute('aria-describedby', hintId);
    else canvas.removeAttribute('aria-describedby');
  };

  useEffect(() => {
    const el = target.current!;
    let ended = false;
    let rfb: RFB | null = null;
    setPhase({ kind: 'connecting' });
    loadNoVnc().then(
      (RfbClass) => {
        if (!ended) rfb = connect(RfbClass, el, () => ended);
      },
      () => {
        if (ended) return;
        failures.current += 1;
        setPhase({ kind: 'waiting', message: 'The live view could not be loaded.', retryAt: Date.now() + reconnectDelayMs(failures.current) });
      },
    );
    return () => {
      ended = true;
      rfbRef.current = null;
      try {
        rfb?.disconnect();
      } catch {
        // Already disconnected.
      }
    };
  }, [url, attempt]);

  /** Opens the view: a WebSocket of ours handed to noVNC, whose close code and reason say why a view ended. */
  const connect = (RfbClass: typeof RFB, el: HTMLElement, isEnded: () => boolean): RFB | null => {
    let opened = false;
    let connectedAt = 0;
    const ws = new WebSocket(url, ['binary']);
    let rfb: RFB;
    try {
      rfb = new RfbClass(el, ws, { shared: true });
    } catch {
      ws.close();
      setPhase({ kind: 'ended', message: 'This browser cannot show the live view.' });
      return null;
    }
    rfb.scaleViewport = true;
    rfb.resizeSession = false;
    rfb.viewOnly = viewOnlyRef.current;
    rfb.background = '#1b1f24';
    rfbRef.current = rfb;
    dressCanvas();
    ws.addEventListener('open', () => {
      opened = true;
    });
    rfb.addEventListener('connect', () => {
      if (isEnded()) return;
      connectedAt = Date.now();
      dressCanvas();
      setPhase({ kind: 'connected' });
    });
    ws.addEventListener('close', (e) => {
      if (isEnded()) return;
      rfbRef.current = null;
      if (connectedAt && Date.now() - connectedAt >= STABLE_MS) failures.current = 0;
      failures.current += 1;
      setPhase({ kind: 'checking' });
      void explainRef.current({ opened, code: e.code, reason: e.reason }).then((verdict) => {
        if (isEnded()) return;
        if (!verdict.retry) return setPhase({ kind: 'ended', message: verdict.message });
        const wait = Math.max(reconnectDelayMs(failures.current), verdict.notBeforeMs ?? 0);
        setPhase({ kind: 'waiting', message: verdict.message, retryAt: Date.now() + wait });
      });
    });
    return rfb;
  };

  // The switch between view only and control applies at once, on the open connection.
  useEffect(() => {
    const rfb = rfbRef.current;
    if (rfb) rfb.viewOnly = viewOnly;
    dressCanvas();
  }, [viewOnly, label]);

  // Reconnects when the wait is over.
  const retryAt = phase.kind === 'waiting' ? phase.retryAt : null;
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (retryAt === null) return;
    const tick = setInterval(() => setNow(Date.now()), 1000);
    const timer = setTimeout(() => setAttempt((n) => n + 1), Math.max(0, retryAt - Date.now()));
    return () => {
      clearInterval(tick);
      clearTimeout(timer);
    };
  }, [retryAt]);

  // Every key goes to the desktop while the screen has the focus, Tab included; Escape
  // then Tab leaves it (Escape still reaches the desktop), so the keyboard is never trapped.
  useEffect(() => {
    const el = frame.current!;
    let escapeAt = 0;
    const onKey = (e: KeyboardEvent) => {
      if (!(e.target instanceof HTMLCanvasElement)) return;
      if (e.key === 'Escape') {
        escapeAt = Date.now();
        return;
      }
      // Shift (for Shift+Tab) and the other modifiers do not cancel it.
      if (MODIFIERS.has(e.key)) return;
      if (e.key === 'Tab' && Date.now() - escapeAt <= LEAVE_WINDOW_MS) {
        e.preventDefault();
        e.stopPropagation();
        focusNextTo(e.target, e.shiftKey);
      }
      escapeAt = 0;
    };
    el.addEventListener('keydown', onKey, true);
    return () => el.removeEventListener('keydown', onKey, true);
  }, []);

  const [width, height] = (resolution ?? '').split('x').map(Number);
  const shape = width > 0 && height > 0 ? { aspectRatio: `${width} / ${height}` } : undefined;

  let status: string;
  if (phase.kind === 'connecting') status = 'Connecting to the desktop…';
  else if (phase.kind === 'checking') status = 'The connection closed. Checking why…';
  else if (phase.kind === 'connected')
    status = viewOnly ? 'Connected, view only: nothing you do here reaches the desktop.' : 'Connected, in control: your clicks and keys reach the desktop.';
  else if (phase.kind === 'waiting') status = `${phase.message} Reconnecting…`;
  else status = phase.message;
  const secondsLeft = retryAt === null ? 0 : Math.max(0, Math.ceil((retryAt - now) / 1000));

  return (
    <div className="live-view">
      <div ref={frame} className={`live-screen${shape ? '' : ' live-screen-fill'}`} style={shape} data-testid="live-screen" data-phase={phase.kind}>
        <div ref={target} className="live-target" />
        {phase.kind !== 'connected' && (
          <div className="live-overlay" aria-hidden="true">
            {status}
          </div>
        )}
      </div>
      <div className="live-status">
        <p role="status" data-testid="live-status">
          {status}
        </p>
        {phase.kind === 'waiting' && (
          <>
            <span className="small muted" aria-hidden="true">
              (in {secondsLeft} s)
            </span>
            <button type="button" className="small-button" onClick={() => setAttempt((n) => n + 1)}>
              Reconnect now
            </button>
          </>
        )}
      </div>
      <p id={hintId} className="small muted live-hint" hidden={viewOnly}>
        Click the screen, or Tab to it, to type into the desktop. To leave it with the keyboard, press Escape, then Tab.
      </p>
    </div>
  );
}
