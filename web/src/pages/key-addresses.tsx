import { useEffect, useState } from 'react';
import { feed } from '../activity.ts';
import { Badge, Empty, ErrorNotice, ListProblem, Loading, Time } from '../components.tsx';
import { type KeyAddress, monitoring } from '../monitoring-api.ts';
import { useList } from '../use-list.ts';

/** Counts and last uses move with every request, without an event: read again this often while visible. */
const ADDRESSES_POLL_MS = 10_000;

const TRUST_TEXT: Record<NonNullable<KeyAddress['trust']>, string> = {
  key: 'Trusted for this key',
  account: 'Trusted for every key',
  session: 'Trusted: you signed in from it',
};

/**
 * Where a key is used from, most recent first, and whether each address is trusted. A
 * later address nobody trusted raises an alert; trusting it (for this key, or for every
 * key) says it is yours, and acknowledges the alerts it explains.
 */
export function KeyAddresses({ keyId, onStatus }: { keyId: string; onStatus: (text: string) => void }) {
  const addresses = useList(() => monitoring.addresses(keyId), { pollMs: ADDRESSES_POLL_MS });
  // The account's trusted addresses: their ids, to stop trusting one.
  const trusted = useList(monitoring.trustedAddresses);
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);

  useEffect(
    () =>
      feed.onEvent((e) => {
        if (e.target?.id === keyId || e.type.startsWith('address.')) void addresses.reload();
        if (e.type.startsWith('address.')) void trusted.reload();
      }),
    [keyId],
  );

  const act = async (address: string, what: () => Promise<unknown>, done: string) => {
    if (busy) return;
    setBusy(address);
    setError(null);
    try {
      await what();
      onStatus(done);
      await Promise.all([addresses.reload(), trusted.reload()]);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(null);
    }
  };

  const accountEntry = (address: string) => trusted.items?.find((t) => t.address === address);

  return (
    <section className="panel" aria-labelledby="addresses-title" data-testid="key-addresses">
      <h2 id="addresses-title">Where it is used from</h2>
      <p className="muted small">
        Its first address is where its program lives. A later address that is not trusted raises an alert: trust it if it is yours, or roll or revoke the key.
      </p>
      <ErrorNotice error={error} />
      <ListProblem list={addresses} what="addresses" />
      {addresses.items === null && !addresses.error && <Loading what="addresses" />}
      {addresses.items?.length === 0 && <Empty>The key has not been used yet.</Empty>}
      {addresses.items && addresses.items.length > 0 && (
        <table className="cards">
          <thead>
            <tr>
              <th scope="col">Address</th>
              <th scope="col">First seen</th>
              <th scope="col">Last seen</th>
              <th scope="col">Requests</th>
              <th scope="col">Trust</th>
              <th scope="col">
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {addresses.items.map((a) => {
              const entry = accountEntry(a.address);
              return (
                <tr key={a.address} data-testid="address-row" data-address={a.address}>
                  <td data-label="Address">
                    <code className="cell address">{a.address}</code>
                  </td>
                  <td data-label="First seen">
                    <Time iso={a.firstSeenAt} />
                  </td>
                  <td data-label="Last seen">
                    <Time iso={a.lastSeenAt} />
                  </td>
                  <td data-label="Requests" data-testid="address-count">
                    {a.count.toLocaleString()}
                  </td>
                  <td data-label="Trust">{a.trust ? <Badge kind="trusted">{TRUST_TEXT[a.trust]}</Badge> : <Badge kind="untrusted">Not trusted</Badge>}</td>
                  <td className="row-actions">
                    {/* One button per kind of trust whose words change: it keeps the focus when pressed. */}
                    <button
                      type="button"
                      aria-disabled={busy === a.address || undefined}
                      onClick={() =>
                        a.trust === 'key'
                          ? act(a.address, () => monitoring.untrustForKey(keyId, a.address), `${a.address} is no longer trusted for this key.`)
                          : act(a.address, () => monitoring.trustForKey(keyId, a.address), `${a.address} is trusted for this key.`)
                      }
                      aria-label={a.trust === 'key' ? `Stop trusting for this key: ${a.address}` : `Trust for this key: ${a.address}`}
                    >
                      {a.trust === 'key' ? 'Stop trusting' : 'Trust for this key'}
                    </button>
                    <button
                      type="button"
                      aria-disabled={busy === a.address || undefined}
                      onClick={() =>
                        entry
                          ? act(a.address, () => monitoring.untrustForAccount(entry.id), `${a.address} is no longer trusted for every key.`)
                          : act(a.address, () => monitoring.trustForAccount(a.address), `${a.address} is trusted for every key.`)
                      }
                      aria-label={entry ? `Stop trusting for every key: ${a.address}` : `Trust for every key: ${a.address}`}
                    >
                      {entry ? 'Stop trusting for every key' : 'Trust for every key'}
                    </button>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </section>
  );
}
