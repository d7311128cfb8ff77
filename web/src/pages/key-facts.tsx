import { Fragment } from 'react';
import type { ApiKey, Desktop, KeyPolicy } from '../api.ts';
import { Badge, Time } from '../components.tsx';
import { formatDate } from '../format.ts';
import { KEY_STATE_TEXT, scopesSummary, shownKeyState } from '../key-policy.ts';
import { Link, desktopPath, keyPath } from '../router.tsx';

/*
 * What the keys list and a key's page both say about a key: its state, access, expiry
 * and roll links, in the same words.
 */

/** Rolled and still in its overlap: active, with an end. */
export function isEnding(k: ApiKey): boolean {
  return k.state === 'active' && k.rolledTo !== null && k.endsAt !== null;
}

/** An active key not rolled yet: the only kind that can be rolled. */
export function canRoll(k: ApiKey): boolean {
  return k.state === 'active' && k.rolledTo === null;
}

/** Its state: active, expiring (within the policy's warning days), rolled, expired or revoked. */
export function KeyState({ apiKey: k }: { apiKey: ApiKey }) {
  const state = shownKeyState(k);
  return (
    <>
      <Badge kind={state}>{KEY_STATE_TEXT[state]}</Badge>
      {k.revokedAt && (
        <span className="muted small">
          {' '}
          <Time iso={k.revokedAt} />
        </span>
      )}
    </>
  );
}

/** Its scopes in a few words, and the desktops it reaches (by name when known). */
export function KeyAccess({ apiKey: k, policy, desktops }: { apiKey: ApiKey; policy: KeyPolicy | null; desktops: Desktop[] | null }) {
  return (
    <span className="cell key-access" data-testid="key-access">
      <span data-testid="key-scopes">{scopesSummary(k.scopes, policy)}</span>
      <span className="muted small" data-testid="key-desktops">
        {k.desktops === null ? (
          'All desktops'
        ) : (
          <>
            Only{' '}
            {k.desktops.map((id, i) => (
              <Fragment key={id}>
                {i > 0 && ', '}
                <DesktopName id={id} desktops={desktops} />
              </Fragment>
            ))}
          </>
        )}
      </span>
    </span>
  );
}

function DesktopName({ id, desktops }: { id: string; desktops: Desktop[] | null }) {
  const d = desktops?.find((x) => x.id === id);
  return d ? <Link to={desktopPath(id)}>{d.name}</Link> : <code>{id}</code>;
}

/** The expiry date (a close one is the key's state: Expiring). */
export function KeyExpiry({ apiKey: k }: { apiKey: ApiKey }) {
  if (!k.expiresAt) return <span className="muted">Never</span>;
  return (
    <span className="cell">
      <time dateTime={k.expiresAt}>{formatDate(k.expiresAt)}</time>
    </span>
  );
}

/** The roll that links this key to another: the one it replaced, the one replacing it (and when this one ends). */
export function KeyRollLinks({ apiKey: k, keys }: { apiKey: ApiKey; keys: ApiKey[] | null }) {
  const other = (id: string) => keys?.find((x) => x.id === id);
  const linkTo = (id: string) => <Link to={keyPath(id)}>{other(id)?.keyId ?? id}</Link>;
  if (!k.rolledTo && !k.rolledFrom) return null;
  return (
    <span className="roll-links small" data-testid="roll-links">
      {k.rolledTo && (
        <span data-testid="rolled-to">
          Replaced by {linkTo(k.rolledTo)}
          {k.endsAt && (
            <>
              {isEnding(k) ? '; works until ' : '; stopped '}
              <time dateTime={k.endsAt} title={formatDate(k.endsAt, true)}>
                {formatDate(k.endsAt)}
              </time>
            </>
          )}
        </span>
      )}
      {k.rolledFrom && <span data-testid="rolled-from">Replaces {linkTo(k.rolledFrom)}</span>}
    </span>
  );
}
