import { type ReactNode, useRef, useState } from 'react';
import { ConfirmDialog, Dialog } from '../components.tsx';

/**
 * The one and only time a secret is shown (a new API key, a webhook's signing secret).
 * It comes in as a prop and leaves with the dialog: never in storage, the URL, the
 * history or a log. Copy uses the Clipboard API; where that is refused, the secret is
 * selected for Ctrl+C. Closing before it was copied (with the button, or Ctrl+C in the
 * field) asks first: it cannot be shown again.
 */
export function SecretDialog(props: {
  title: string;
  /** The secret's field label. */
  label: ReactNode;
  secret: string;
  /** What the secret is, in the questions: "the key", "the secret". */
  what: string;
  /** Why it must be copied now (shown first, as a warning). */
  warning: ReactNode;
  /** How to use it, under the field. */
  children?: ReactNode;
  /** The field's id (and test id). */
  fieldId: string;
  onClose: () => void;
}) {
  const [copy, setCopy] = useState<'idle' | 'copied' | 'failed'>('idle');
  const [copiedOnce, setCopiedOnce] = useState(false);
  const [confirmingClose, setConfirmingClose] = useState(false);
  const input = useRef<HTMLTextAreaElement>(null);

  const copySecret = async () => {
    try {
      await navigator.clipboard.writeText(props.secret);
      setCopy('copied');
      setCopiedOnce(true);
    } catch {
      input.current?.focus();
      input.current?.select();
      setCopy('failed');
    }
  };

  const close = () => (copiedOnce ? props.onClose() : setConfirmingClose(true));

  return (
    <Dialog title={props.title} onClose={close} className="key-dialog">
      <div className="notice warning">{props.warning}</div>
      <label htmlFor={props.fieldId}>{props.label}</label>
      <div className="key-row">
        <textarea
          id={props.fieldId}
          ref={input}
          className="mono"
          rows={2}
          readOnly
          value={props.secret}
          onFocus={(e) => e.currentTarget.select()}
          onCopy={() => setCopiedOnce(true)}
          spellCheck={false}
          autoComplete="off"
          data-testid={props.fieldId}
        />
        <button type="button" className="primary" onClick={copySecret} data-autofocus>
          {copy === 'copied' ? 'Copied' : 'Copy'}
        </button>
      </div>
      <p role="status" className="small">
        {copy === 'copied' && 'Copied to the clipboard.'}
        {copy === 'failed' && `Copying was not allowed here: ${props.what} is selected, press Ctrl+C (⌘C on a Mac).`}
      </p>
      {props.children}
      <div className="actions">
        <button type="button" onClick={close}>
          I have stored it, close
        </button>
      </div>
      {confirmingClose && (
        <ConfirmDialog
          title={`Close without copying ${props.what}?`}
          confirmLabel="Close, I do not need it"
          cancelLabel={`Go back to ${props.what}`}
          onClose={() => setConfirmingClose(false)}
          onConfirm={async () => props.onClose()}
        >
          <p>You have not copied it. Once this dialog is closed {props.what} cannot be shown again: you would have to make a new one.</p>
        </ConfirmDialog>
      )}
    </Dialog>
  );
}
