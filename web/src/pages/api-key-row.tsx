import type { ApiKey } from '../api.ts';
import { Badge, Time } from '../components.tsx';
import { formatDate } from '../format.ts';

const STATE_LABEL: Record<ApiKey['state'], string> = { active: 'Active', rolled: 'Rolled', revoked: 'Revoked', expired: 'Expired' };

/** The element the focus goes to for a key (after revoking it, after its creation dialog, from a link). */
export function keyNameId(id: string): string {
  return `key-name-${id}`;
}

export function ApiKeyRow({ apiKey: k, duplicate, highlighted, onRevoke }: {
  apiKey: ApiKey;
  /** Another key has the same name. */
  duplicate: boolean;
  /** The key a link pointed at (/api-keys?key=<id>). */
  highlighted: boolean;
  onRevoke: () => void;
}) {
  const classes = [k.state === 'active' ? '' : 'inactive', highlighted ? 'highlighted' : ''].filter(Boolean).join(' ');
  return (
    <tr data-testid="api-key-row" data-key-id={k.keyId} data-id={k.id} className={classes || undefined}>
      <td data-label="Name">
        <div className="cell">
          {/* Focusable from script only: where the focus lands when this key's own button goes away. */}
          <strong className="name" id={keyNameId(k.id)} tabIndex={-1}>
            {k.name}
          </strong>
          {duplicate && (
            <>
              {' '}
              <Badge kind="duplicate">Duplicate name</Badge>
              <span className="sr-only"> (another key is also called {k.name}: tell them apart by key id)</span>
            </>
          )}
        </div>
      </td>
      <td data-label="Key id">
        <code className="cell">{k.keyId}</code>
      </td>
      <td data-label="Created">
        <Time iso={k.createdAt} />
      </td>
      <td data-label="Last used">
        {k.lastUsedAt ? (
          <span className="cell" data-testid="last-used">
            <Time iso={k.lastUsedAt} />
            {k.lastUsedIp && (
              <span className="muted">
                {' '}
                from <span className="address">{k.lastUsedIp}</span>
              </span>
            )}
          </span>
        ) : (
          <span className="muted">Never</span>
        )}
      </td>
      <td data-label="Expires">{k.expiresAt ? <time dateTime={k.expiresAt}>{formatDate(k.expiresAt)}</time> : <span className="muted">Never</span>}</td>
      <td data-label="State">
        <Badge kind={k.state}>{STATE_LABEL[k.state]}</Badge>
        {k.revokedAt && (
          <span className="muted small">
            {' '}
            <Time iso={k.revokedAt} />
          </span>
        )}
      </td>
      <td className="row-actions">
        {k.state === 'active' && (
          <button type="button" className="danger-outline" onClick={onRevoke} aria-label={`Revoke ${k.name}`}>
            Revoke
          </button>
        )}
      </td>
    </tr>
  );
}
