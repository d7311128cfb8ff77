import { useState } from 'react';
import type { ApiKey, RolledKey } from '../api.ts';
import { Dialog, ErrorNotice } from '../components.tsx';
import { overlapLabel } from '../key-policy.ts';

/** The overlap offered first: long enough to switch a program over, short enough to matter. */
const PREFERRED_OVERLAP_S = 3600;

/**
 * Rolling a key: a new key with the same name, scopes, desktops and expiry rule, while
 * the old one keeps working for the overlap chosen (the server's presets). The new key
 * is then shown once, by the caller (NewKeyDialog). `roll` sends the request: the keys
 * page's own, or an alert's ready-made fix.
 */
export function RollDialog({
  apiKey,
  presetsS,
  roll,
  onRolled,
  onClose,
}: {
  apiKey: Pick<ApiKey, 'name' | 'keyId'>;
  presetsS: number[];
  roll: (overlapS: number) => Promise<RolledKey>;
  onRolled: (rolled: RolledKey) => void;
  onClose: () => void;
}) {
  const [overlapS, setOverlapS] = useState(presetsS.includes(PREFERRED_OVERLAP_S) ? PREFERRED_OVERLAP_S : (presetsS[0] ?? 0));
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const confirm = async () => {
    setBusy(true);
    setError(null);
    try {
      onRolled(await roll(overlapS));
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };
  return (
    <Dialog title={`Roll “${apiKey.name}”?`} onClose={onClose}>
      <div className="dialog-body">
        <p>
          A new key replaces <code>{apiKey.keyId}</code>, with the same name, scopes, desktops and expiry rule. It is shown once, next.
        </p>
        <fieldset className="choices">
          <legend>The old key keeps working for</legend>
          {presetsS.map((s) => (
            <div className="choice" key={s}>
              <input type="radio" id={`overlap-${s}`} name="roll-overlap" checked={overlapS === s} onChange={() => setOverlapS(s)} />
              <label htmlFor={`overlap-${s}`}>{overlapLabel(s)}</label>
            </div>
          ))}
        </fieldset>
        <p className="muted small">
          Uses of the old key during that time show in mission control, with their address, so you see which program still has to switch.
        </p>
      </div>
      <ErrorNotice error={error} />
      <div className="actions">
        <button type="button" data-autofocus onClick={onClose}>
          Cancel
        </button>
        <button type="button" className="primary" disabled={busy} onClick={confirm}>
          {busy ? 'Rolling…' : 'Roll key'}
        </button>
      </div>
    </Dialog>
  );
}
