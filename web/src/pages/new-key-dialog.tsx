import type { ApiKey } from '../api.ts';
import { formatDate } from '../format.ts';
import { SecretDialog } from './secret-dialog.tsx';

/**
 * The one and only time a key is shown: after creating it, and after rolling one (then
 * `previous` is the key it replaces, with when that one stops working). The key leaves
 * with the dialog (see SecretDialog).
 */
export function NewKeyDialog({ created, previous, onClose }: { created: { key: string; apiKey: ApiKey }; previous?: ApiKey; onClose: () => void }) {
  return (
    <SecretDialog
      title="Your new API key"
      fieldId="new-api-key"
      what="the key"
      secret={created.key}
      onClose={onClose}
      label={
        <>
          Key “{created.apiKey.name}” <span className="muted">({created.apiKey.keyId})</span>
        </>
      }
      warning={
        <>
          <strong>Copy this key now: it will not be shown again.</strong> Le Bureau keeps only a hash of it. Store it in a password manager or your CI's secret
          store; if you lose it, revoke it and create a new one.
        </>
      }
    >
      {previous && (
        <p className="small" data-testid="rolled-previous">
          It replaces <code>{previous.keyId}</code>, which{' '}
          {previous.endsAt && Date.parse(previous.endsAt) > Date.now() ? (
            <>
              keeps working until <time dateTime={previous.endsAt}>{formatDate(previous.endsAt)}</time>: switch your programs to the new key before then.
            </>
          ) : (
            'no longer works.'
          )}
        </p>
      )}
      <p className="muted small">
        Use it in the <code>x-api-key</code> header, e.g. <code>curl -H "x-api-key: $LE_BUREAU_KEY" {location.origin}/api/desktops</code>
      </p>
    </SecretDialog>
  );
}
