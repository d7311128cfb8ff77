import { useEffect, useState } from 'react';
import { feed } from './activity.ts';
import type { ActivityEvent } from './api.ts';
import { describeEvent, isAlert, plainText } from './event-text.ts';
import { names } from './names.ts';

/** Events arriving this close together are announced as one message. */
const GATHER_MS = 1000;

/** What to say about events that arrived together. */
export function announcement(events: ActivityEvent[]): string {
  const latest = events[events.length - 1];
  const alerts = events.filter(isAlert).length;
  const attention = alerts ? ` ${alerts === 1 ? 'One needs' : `${alerts} need`} your attention.` : '';
  const text = plainText(describeEvent(latest, names));
  if (events.length === 1) return `${isAlert(latest) ? 'Needs your attention: ' : 'New activity: '}${text}.`;
  return `${events.length} new events.${attention} Latest: ${text}.`;
}

/**
 * Says new events to screen readers, politely (after what they are reading), on every
 * page: what others did (another tab, a script, a teammate), and alerts. This
 * browser's own actions are not repeated: each page already says what it just did.
 */
export function EventAnnouncer({ sessionId }: { sessionId: string | undefined }) {
  const [message, setMessage] = useState({ text: '', count: 0 });
  useEffect(() => {
    let gathered: ActivityEvent[] = [];
    let timer: ReturnType<typeof setTimeout> | null = null;
    const off = feed.onEvent((e) => {
      const mine = e.actor.type === 'session' && e.actor.id === sessionId;
      // One desktop.action per burst of input is still chatter for a listener.
      if ((mine && !isAlert(e)) || e.type === 'desktop.action') return;
      gathered.push(e);
      timer ??= setTimeout(() => {
        timer = null;
        const text = announcement(gathered);
        setMessage((m) => ({ text, count: m.count + 1 }));
        gathered = [];
      }, GATHER_MS);
    });
    return () => {
      off();
      if (timer) clearTimeout(timer);
    };
  }, [sessionId]);
  return (
    <div className="sr-only" aria-live="polite" aria-atomic="true" data-testid="event-announcer">
      {/* A no-break space on every other message, so the same words said twice are still a change. */}
      {message.count % 2 ? message.text : `${message.text}\u00a0`}
    </div>
  );
}
