import type { ApiKey, Desktop, KeyPolicy } from '../api.ts';
import { Badge, Time } from '../components.tsx';
import { Link, keyPath } from '../router.tsx';
import { KeyAccess, KeyExpiry, KeyRollLinks, KeyState, canRoll } from './key-facts.tsx';

/** The element the focus goes to for a key (after revoking it, after its creation dialog, from a link): its name, a link to its page. */
export function keyNameId(id: string): string {
  return `key-name-${id}`;
}

export function ApiKeyRow({
  apiKey: k,
  keys,
  policy,
  desktops,
  duplicate,
  highlighted,
  onRoll,
  onRevoke,
}: {
  apiKey: ApiKey;
  /** The whole list, to name the keys a roll links this one to. */
  keys: ApiKey[];
  policy: KeyPolicy | null;
  desktops: Desktop[] | null;
  /** Another key has the same name. */
  duplicate: boolean;
  /** The key a link pointed at (/api-keys?key=<id>). */
  highlighted: boolean;
  onRoll: () => void;
  onRevoke: () => void;
}) {
  const classes = [k.state === 'active' ? '' : 'inactive', highlighted ? 'highlighted' : ''].filter(Boolean).join(' ');
  return (
    <tr data-testid="api-key-row" data-key-id={k.keyId} data-id={k.id} className={classes || undefined}>
      <td data-label="Name">
        <div className="cell">
          <Link to={keyPath(k.id)} id={keyNameId(k.id)}>
            <strong className="name">{k.name}</strong>
          </Link>
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
      <td data-label="Access">
        <KeyAccess apiKey={k} policy={policy} desktops={desktops} />
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
      <td data-label="Expires">
        <KeyExpiry apiKey={k} />
      </td>
      <td data-label="State">
        <div className="cell">
          <KeyState apiKey={k} />
          <KeyRollLinks apiKey={k} keys={keys} />
        </div>
      </td>
      <td className="row-actions">
        {canRoll(k) && (
          <button type="button" onClick={onRoll} aria-label={`Roll ${k.name}`}>
            Roll
          </button>
        )}
        {k.state === 'active' && (
          <button type="button" className="danger-outline" onClick={onRevoke} aria-label={`Revoke ${k.name}`}>
            Revoke
          </button>
        )}
      </td>
    </tr>
  );
}
