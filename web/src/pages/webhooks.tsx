import { type FormEvent, useEffect, useState } from 'react';
import { feed } from '../activity.ts';
import { ALERT_KINDS, ALERT_TITLE } from '../alert-text.ts';
import { ApiError } from '../api.ts';
import { Badge, ConfirmDialog, ErrorNotice, ListProblem, Time } from '../components.tsx';
import { useFocusLater } from '../focus.ts';
import { type Delivery, type IssuedWebhook, type Webhook, monitoring } from '../monitoring-api.ts';
import { useList } from '../use-list.ts';
import { SecretDialog } from './secret-dialog.tsx';

/** Deliveries change without an event (an attempt, a retry): read again this often while one is pending. */
const PENDING_POLL_MS = 2_000;
const IDLE_POLL_MS = 30_000;

const DELIVERY_LABEL: Record<Delivery['state'], string> = { pending: 'Pending', delivered: 'Delivered', failed: 'Failed' };

const webhookRowId = (id: string) => `webhook-${id}`;

/**
 * The endpoints the account's alerts are posted to (signed, retried for a day): add one
 * (its signing secret is shown once), see each one's latest deliveries, delete one.
 */
export function WebhooksSection() {
  const webhooks = useList(monitoring.webhooks, { order: (a, b) => b.createdAt.localeCompare(a.createdAt) });
  const [url, setUrl] = useState('');
  const [all, setAll] = useState(true);
  const [kinds, setKinds] = useState<Set<string>>(new Set());
  const [adding, setAdding] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [created, setCreated] = useState<IssuedWebhook | null>(null);
  const [deleting, setDeleting] = useState<Webhook | null>(null);
  const [status, setStatus] = useState('');
  const focusLater = useFocusLater();

  useEffect(() => feed.onEvent((e) => e.type.startsWith('webhook.') && void webhooks.reload()), []);

  const add = async (e: FormEvent) => {
    e.preventDefault();
    const events = all ? ['*'] : ALERT_KINDS.filter((k) => kinds.has(k));
    if (events.length === 0) return setError('Choose the alerts to send, or send them all.');
    setAdding(true);
    setError(null);
    try {
      setCreated(await monitoring.createWebhook(url.trim(), events));
      setUrl('');
      setAll(true);
      setKinds(new Set());
      void webhooks.reload();
    } catch (err) {
      setError(err);
    } finally {
      setAdding(false);
    }
  };

  return (
    <section className="panel webhooks" aria-labelledby="webhooks-title" data-testid="webhooks">
      <h2 id="webhooks-title">Webhooks</h2>
      <p className="muted small">
        Alerts are also posted, signed, to your own endpoints (<code>https://</code>; plain <code>http://</code> to this machine only, outside production), and
        retried for a day until they answer 2xx. Verify the <code>Bureau-Signature</code> header with the endpoint's secret: see the monitoring docs.
      </p>
      <form className="inline-form" onSubmit={add} aria-label="Add a webhook">
        <div className="fields">
          <div className="field grow">
            <label htmlFor="webhook-url">Endpoint URL</label>
            <input
              id="webhook-url"
              type="url"
              value={url}
              onChange={(e) => setUrl(e.target.value)}
              required
              maxLength={2048}
              placeholder="https://hooks.example.com/bureau"
              autoComplete="off"
            />
          </div>
        </div>
        <fieldset className="choices">
          <legend>Alerts to send</legend>
          <div className="choice">
            <input type="checkbox" id="webhook-all" checked={all} onChange={(e) => setAll(e.target.checked)} />
            <label htmlFor="webhook-all">Every alert, kinds added later too</label>
          </div>
          {!all && (
            <ul className="desktop-picks" aria-label="Kinds of alert">
              {ALERT_KINDS.map((k) => (
                <li key={k} className="choice">
                  <input
                    type="checkbox"
                    id={`webhook-${k}`}
                    checked={kinds.has(k)}
                    onChange={(e) =>
                      setKinds((s) => {
                        const next = new Set(s);
                        if (e.target.checked) next.add(k);
                        else next.delete(k);
                        return next;
                      })
                    }
                  />
                  <label htmlFor={`webhook-${k}`}>
                    {ALERT_TITLE[k]} <code className="muted">{k}</code>
                  </label>
                </li>
              ))}
            </ul>
          )}
        </fieldset>
        <div className="form-actions">
          <button type="submit" className="primary" disabled={adding || !url.trim()}>
            {adding ? 'Adding…' : 'Add webhook'}
          </button>
        </div>
      </form>
      <ErrorNotice error={error} />
      <p className="sr-only" role="status">
        {status}
      </p>
      <ListProblem list={webhooks} what="webhooks" />
      {webhooks.items?.length === 0 && <p className="muted">No webhook yet.</p>}
      {webhooks.items && webhooks.items.length > 0 && (
        <ul className="webhook-list" aria-label="Webhooks">
          {webhooks.items.map((w) => (
            <WebhookItem key={w.id} webhook={w} onDelete={() => setDeleting(w)} />
          ))}
        </ul>
      )}

      {created && (
        <SecretDialog
          title="Your webhook’s signing secret"
          fieldId="webhook-secret"
          what="the secret"
          secret={created.secret}
          label={
            <>
              Secret for <span className="mono">{created.webhook.url}</span>
            </>
          }
          warning={
            <>
              <strong>Copy this secret now: it will not be shown again.</strong> Your endpoint needs it to check that a request comes from Le Bureau. If you
              lose it, delete the webhook and add it again.
            </>
          }
          onClose={() => {
            const id = created.webhook.id;
            setCreated(null);
            focusLater(() => document.getElementById(webhookRowId(id)));
          }}
        />
      )}
      {deleting && (
        <ConfirmDialog
          title="Delete this webhook?"
          confirmLabel="Delete webhook"
          onClose={() => setDeleting(null)}
          onConfirm={async () => {
            await monitoring.deleteWebhook(deleting.id).catch((err) => {
              if (!(err instanceof ApiError && err.status === 404)) throw err;
            });
            setStatus('Webhook deleted.');
            focusLater(() => document.getElementById('webhook-url'));
            await webhooks.reload();
          }}
        >
          <p>
            Alerts are no longer sent to <span className="mono">{deleting.url}</span>, and its deliveries are forgotten.
          </p>
        </ConfirmDialog>
      )}
    </section>
  );
}

function WebhookItem({ webhook: w, onDelete }: { webhook: Webhook; onDelete: () => void }) {
  const deliveries = useList(() => monitoring.deliveries(w.id), {
    pollMs: (items) => (items.some((d) => d.state === 'pending') ? PENDING_POLL_MS : IDLE_POLL_MS),
  });
  // An alert queues a delivery to every endpoint that wants it: look at once, then while it is pending.
  useEffect(() => feed.onEvent((e) => e.type.startsWith('alert.') && void deliveries.reload()), []);
  const events = w.events.includes('*') ? 'Every alert' : w.events.map((k) => ALERT_TITLE[k as keyof typeof ALERT_TITLE] ?? k).join(', ');
  return (
    <li className="webhook" data-testid="webhook" data-id={w.id}>
      <div className="webhook-head">
        <div className="cell">
          <strong className="mono webhook-url" id={webhookRowId(w.id)} tabIndex={-1}>
            {w.url}
          </strong>
          <div className="muted small">
            {events} · added <Time iso={w.createdAt} />
          </div>
        </div>
        <button type="button" className="danger-outline" onClick={onDelete} aria-label={`Delete webhook ${w.url}`}>
          Delete
        </button>
      </div>
      <ListProblem list={deliveries} what="deliveries" />
      {deliveries.items?.length === 0 && <p className="muted small">Nothing sent yet: deliveries show here after the next alert.</p>}
      {deliveries.items && deliveries.items.length > 0 && (
        <table className="figures deliveries" data-testid="deliveries">
          <caption className="sr-only">Latest deliveries to {w.url}</caption>
          <thead>
            <tr>
              <th scope="col">Alert</th>
              <th scope="col">Status</th>
              <th scope="col">Attempts</th>
              <th scope="col">Last attempt</th>
            </tr>
          </thead>
          <tbody>
            {deliveries.items.map((d) => (
              <tr key={d.id} data-testid="delivery" data-state={d.state}>
                <th scope="row">{ALERT_TITLE[d.type as keyof typeof ALERT_TITLE] ?? d.type}</th>
                <td>
                  <Badge kind={`delivery-${d.state}`}>{DELIVERY_LABEL[d.state]}</Badge>
                  {d.responseStatus !== null && <span className="muted small"> {d.responseStatus}</span>}
                  {d.state !== 'delivered' && d.error && <span className="muted small block">{d.error}</span>}
                  {d.state === 'pending' && d.nextAttemptAt && (
                    <span className="muted small block">
                      next try <Time iso={d.nextAttemptAt} />
                    </span>
                  )}
                </td>
                <td>{d.attempts}</td>
                <td>
                  <Time iso={d.lastAttemptAt} fallback="not yet" />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </li>
  );
}
