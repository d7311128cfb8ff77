import { useRef, useState } from 'react';
import type { ApiKey } from '../api.ts';
import { ConfirmDialog, Dialog } from '../components.tsx';

/**
 * The one and only time a key is shown. It comes in as a prop and leaves with the
 * dialog: never in storage, the URL, the history or a log. Copy uses the Clipboard
 * API; where that is refused, the key is selected for Ctrl+C. Closing before the key
 * was copied (with the button, or Ctrl+C in the field) asks first: it cannot be shown again.
 */
export function NewKeyDialog({ created, onClose }: { created: { key: string; apiKey: ApiKey }; onClose: () => void }) {
  const [copy, setCopy] = useState<'idle' | 'copied' | 'failed'>('idle');
  const [copiedOnce, setCopiedOnce] = useState(false);
  const [confirmingClose, setConfirmingClose] = useState(false);
  const input = useRef<HTMLTextAreaElement>(null);

  const copyKey = async () => {
    try {
      await navigator.clipboard.writeText(created.key);
      setCopy('copied');
      setCopiedOnce(true);
    } catch {
      input.current?.focus();
      input.current?.select();
      setCopy('failed');
    }
  };

  const close = () => (copiedOnce ? onClose() : setConfirmingClose(true));

  return (
    <Dialog title="Your new API key" onClose={close} className="key-dialog">
      <div className="notice warning">
        <strong>Copy this key now: it will not be shown again.</strong> Le Bureau keeps only a hash of it. Store it in a password manager or your CI's secret
        store; if you lose it, revoke it and create a new one.
      </div>
      <label htmlFor="new-api-key">
        Key “{created.apiKey.name}” <span className="muted">({created.apiKey.keyId})</span>
      </label>
      <div className="key-row">
        <textarea
          id="new-api-key"
          ref={input}
          className="mono"
          rows={2}
          readOnly
          value={created.key}
          onFocus={(e) => e.currentTarget.select()}
          onCopy={() => setCopiedOnce(true)}
          spellCheck={false}
          autoComplete="off"
          data-testid="new-api-key"
        />
        <button type="button" className="primary" onClick={copyKey} data-autofocus>
          {copy === 'copied' ? 'Copied' : 'Copy'}
        </button>
      </div>
      <p role="status" className="small">
        {copy === 'copied' && 'Copied to the clipboard.'}
        {copy === 'failed' && 'Copying was not allowed here: the key is selected, press Ctrl+C (⌘C on a Mac).'}
      </p>
      <p className="muted small">
        Use it in the <code>x-api-key</code> header, e.g. <code>curl -H "x-api-key: $LE_BUREAU_KEY" {location.origin}/api/desktops</code>
      </p>
      <div className="actions">
        <button type="button" onClick={close}>
          I have stored it, close
        </button>
      </div>
      {confirmingClose && (
        <ConfirmDialog
          title="Close without copying the key?"
          confirmLabel="Close, I do not need it"
          cancelLabel="Go back to the key"
          onClose={() => setConfirmingClose(false)}
          onConfirm={async () => onClose()}
        >
          <p>You have not copied it. Once this dialog is closed the key cannot be shown again: you would have to create a new one.</p>
        </ConfirmDialog>
      )}
    </Dialog>
  );
}
