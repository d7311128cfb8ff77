import { useRef, useState } from 'react';
import type { ApiKey } from '../api.ts';
import { Dialog } from '../components.tsx';

/**
 * The one and only time a key is shown. It comes in as a prop and leaves with the
 * dialog: never in storage, the URL, the history or a log. Copy uses the Clipboard
 * API; where that is refused, the key is selected for Ctrl+C.
 */
export function NewKeyDialog({ created, onClose }: { created: { key: string; apiKey: ApiKey }; onClose: () => void }) {
  const [copy, setCopy] = useState<'idle' | 'copied' | 'failed'>('idle');
  const input = useRef<HTMLTextAreaElement>(null);

  const copyKey = async () => {
    try {
      await navigator.clipboard.writeText(created.key);
      setCopy('copied');
    } catch {
      input.current?.focus();
      input.current?.select();
      setCopy('failed');
    }
  };

  return (
    <Dialog title="Your new API key" onClose={onClose} className="key-dialog">
      <div className="notice warning">
        <strong>Copy this key now: it will not be shown again.</strong> Le Bureau keeps only a hash of it. Store it in a password manager or your CI's secret
        store; if you lose it, revoke it and create a new one.
      </div>
      <label htmlFor="new-api-key">
        Key “{created.apiKey.name}” <span className="muted">({created.apiKey.keyId})</span>
      </label>
      <div className="row key-row">
        <textarea
          id="new-api-key"
          ref={input}
          className="mono"
          rows={2}
          readOnly
          value={created.key}
          onFocus={(e) => e.currentTarget.select()}
          spellCheck={false}
          autoComplete="off"
          data-testid="new-api-key"
        />
        <button type="button" className="primary" onClick={copyKey} autoFocus>
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
        <button type="button" onClick={onClose}>
          I have stored it, close
        </button>
      </div>
    </Dialog>
  );
}
