import { useEffect, useState } from 'react';
import { feed } from '../activity.ts';
import { alertCount } from '../alert-count.ts';
import { ALERT_TITLE, FIX_LABEL, alertDetail, changesAlertCount } from '../alert-text.ts';
import { type KeyPolicy, type RolledKey, ApiError, api } from '../api.ts';
import { ConfirmDialog, Empty, ErrorNotice, ListProblem, Loading, Time } from '../components.tsx';
import { useFocusLater } from '../focus.ts';
import { type Alert, type AlertFix, monitoring } from '../monitoring-api.ts';
import { Link, keyPath } from '../router.tsx';
import { useList } from '../use-list.ts';
import { NewKeyDialog } from './new-key-dialog.tsx';
import { RollDialog } from './roll-dialog.tsx';
import { WebhooksSection } from './webhooks.tsx';

/** The element of an alert (mission control links to /alerts#alert-<id>). */
export const alertElementId = (id: string) => `alert-${id}`;

/** Fixes that are asked about first: they cannot be undone, or make a key to copy. */
type Asking = { alert: Alert; fix: AlertFix } | null;

/**
 * The account's alerts, newest first: each names its key (a link to the key's page),
 * says what happened in plain words, offers its fixes as the server gives them (trust
 * the address, roll, revoke: ready-made requests) and can be acknowledged, one or all.
 * The unread count in the menu is the server's, so acknowledging here clears it on
 * every page and device. Below: the webhooks alerts are sent to.
 */
export function AlertsPage() {
  const [state, setState] = useState<'open' | 'acked'>('open');
  const alerts = useList(() => monitoring.alerts(state).then((r) => r.alerts));
  const [policy, setPolicy] = useState<KeyPolicy | null>(null);
  const [asking, setAsking] = useState<Asking>(null);
  const [shown, setShown] = useState<RolledKey | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const [status, setStatus] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [linked] = useState(() => (location.hash.startsWith('#alert-') ? location.hash.slice(1) : null));
  const focusLater = useFocusLater();

  useEffect(() => {
    void alerts.reload();
  }, [state]);
  // A new alert, one acknowledged elsewhere, a key revoked or rolled (its fixes change): read again.
  useEffect(() => feed.onEvent((e) => (changesAlertCount(e) || e.type.startsWith('api_key.')) && void alerts.reload()), []);
  // The overlaps a roll offers.
  useEffect(() => {
    api.apiKeysWithPolicy().then(
      (r) => setPolicy(r.policy),
      () => {},
    );
  }, []);
  useEffect(() => {
    if (linked) focusLater(() => document.getElementById(linked));
  }, [linked]);

  const after = async (done: string) => {
    setStatus(done);
    await Promise.all([alerts.reload(), alertCount.refresh()]);
  };

  const apply = async (alert: Alert, fix: AlertFix) => {
    if (busy) return;
    if (fix.action === 'revoke' || fix.action === 'roll') return setAsking({ alert, fix });
    setBusy(alert.id);
    setError(null);
    try {
      await monitoring.applyFix(fix);
      await after(fix.action === 'trust_address' ? `${alert.address} is trusted for “${alert.key?.name}”.` : `${alert.address} is trusted for every key.`);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(null);
    }
  };

  const ack = async (alert: Alert) => {
    if (busy) return;
    setBusy(alert.id);
    setError(null);
    try {
      await monitoring.ackAlert(alert.id);
      // Its row leaves the list: the focus goes to the next one's Acknowledge, else to the heading.
      const rows = alerts.items ?? [];
      const next = rows[rows.indexOf(alert) + 1] ?? rows[rows.indexOf(alert) - 1];
      focusLater(() => (next ? document.getElementById(`ack-${next.id}`) : document.getElementById('alerts-title')));
      await after('Alert acknowledged.');
    } catch (err) {
      setError(err);
    } finally {
      setBusy(null);
    }
  };

  const ackAll = async () => {
    setError(null);
    try {
      const { acknowledged } = await monitoring.ackAllAlerts();
      focusLater(() => document.getElementById('alerts-title'));
      await after(`${acknowledged} alert${acknowledged === 1 ? '' : 's'} acknowledged.`);
    } catch (err) {
      setError(err);
    }
  };

  const items = alerts.items;
  return (
    <>
      <header className="page-header">
        <h1 id="alerts-title" tabIndex={-1}>
          Alerts
        </h1>
        <p className="muted">
          What looks wrong with your keys: a new address, a burst of requests or refusals, a key that ended still being sent, a key found in public. Each offers
          its fix. Acknowledged here, an alert is read on every device.
        </p>
      </header>
      <div className="toolbar">
        <fieldset className="mode-switch">
          <legend className="sr-only">Which alerts</legend>
          <input type="radio" id="alerts-open" name="alerts-state" checked={state === 'open'} onChange={() => setState('open')} />
          <label htmlFor="alerts-open">Open</label>
          <input type="radio" id="alerts-acked" name="alerts-state" checked={state === 'acked'} onChange={() => setState('acked')} />
          <label htmlFor="alerts-acked">Acknowledged</label>
        </fieldset>
        {state === 'open' && items && items.length > 0 && (
          <button type="button" onClick={ackAll}>
            Acknowledge all
          </button>
        )}
      </div>
      <p className="sr-only" role="status">
        {status}
      </p>
      <ErrorNotice error={error} />
      <ListProblem list={alerts} what="alerts" />
      {items === null && !alerts.error && <Loading what="alerts" />}
      {items?.length === 0 && (
        <Empty>
          <p>{state === 'open' ? 'No open alerts. All is quiet.' : 'No acknowledged alerts.'}</p>
        </Empty>
      )}
      {items && items.length > 0 && (
        <ol className="alerts" aria-label={state === 'open' ? 'Open alerts, newest first' : 'Acknowledged alerts, newest first'} data-testid="alert-list">
          {items.map((a) => (
            <AlertItem
              key={a.id}
              alert={a}
              highlighted={linked === alertElementId(a.id)}
              busy={busy === a.id}
              onFix={(fix) => apply(a, fix)}
              onAck={() => ack(a)}
            />
          ))}
        </ol>
      )}

      <WebhooksSection />

      {asking?.fix.action === 'revoke' && (
        <ConfirmDialog
          title={`Revoke “${asking.alert.key?.name}”?`}
          confirmLabel="Revoke key"
          onClose={() => setAsking(null)}
          onConfirm={async () => {
            await monitoring.applyFix(asking.fix).catch((err) => {
              if (!(err instanceof ApiError && err.status === 404)) throw err;
            });
            await after(`Key “${asking.alert.key?.name}” revoked.`);
          }}
        >
          <p>
            Programs using <code>{asking.alert.key?.keyId}</code> are refused from their next request. This cannot be undone: to restore access, create a new
            key.
          </p>
        </ConfirmDialog>
      )}
      {asking?.fix.action === 'roll' && asking.alert.key && (
        <RollDialog
          apiKey={asking.alert.key}
          presetsS={policy?.rollOverlapPresetsS ?? [0, 3600, 86400, 604800]}
          roll={(overlapS) => monitoring.applyFix<RolledKey>(asking.fix, { overlapS })}
          onClose={() => setAsking(null)}
          onRolled={(rolled) => {
            setAsking(null);
            setShown(rolled);
            void after(`Key “${rolled.apiKey.name}” rolled.`);
          }}
        />
      )}
      {shown && <NewKeyDialog created={shown} previous={shown.previous} onClose={() => setShown(null)} />}
    </>
  );
}

function AlertItem({
  alert: a,
  highlighted,
  busy,
  onFix,
  onAck,
}: {
  alert: Alert;
  highlighted: boolean;
  busy: boolean;
  onFix: (fix: AlertFix) => void;
  onAck: () => void;
}) {
  return (
    <li
      className={`alert-item${highlighted ? ' highlighted' : ''}`}
      id={alertElementId(a.id)}
      tabIndex={-1}
      data-testid="alert"
      data-kind={a.kind}
      data-id={a.id}
    >
      <h2 className="alert-title">{ALERT_TITLE[a.kind]}</h2>
      <p className="alert-key">
        {a.key ? (
          <>
            Key <Link to={keyPath(a.key.id)}>“{a.key.name}”</Link> <code className="key-id">{a.key.keyId}</code>
            {a.key.state !== 'active' && <span className="muted"> ({a.key.state})</span>}
          </>
        ) : (
          <span className="muted">A key that no longer exists</span>
        )}
        {a.address && (
          <>
            {' '}
            · from <code className="address">{a.address}</code>
          </>
        )}
        {' · '}
        <Time iso={a.createdAt} />
      </p>
      <p className="alert-detail">{alertDetail(a)}</p>
      <div className="alert-actions">
        {a.fixes.map((fix) => (
          <button
            key={fix.action}
            type="button"
            className={fix.action === 'revoke' ? 'danger-outline' : undefined}
            aria-disabled={busy || undefined}
            onClick={() => onFix(fix)}
            data-fix={fix.action}
          >
            {FIX_LABEL[fix.action]}
          </button>
        ))}
        {a.state === 'open' ? (
          <button
            type="button"
            id={`ack-${a.id}`}
            aria-disabled={busy || undefined}
            onClick={onAck}
            aria-label={`Acknowledge: ${ALERT_TITLE[a.kind]}${a.key ? `, ${a.key.name}` : ''}`}
          >
            Acknowledge
          </button>
        ) : (
          <span className="muted small">
            Acknowledged <Time iso={a.ackedAt} />
          </span>
        )}
      </div>
    </li>
  );
}
