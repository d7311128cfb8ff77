import { type FormEvent, useEffect, useState } from 'react';
import { type ApiKey, type Desktop, type IssuedKey, type KeyPolicy, type Scope, api } from '../api.ts';
import { ErrorNotice } from '../components.tsx';
import { formatDay } from '../format.ts';
import { SCOPE_TEXT, expiryChoices, expiryFrom, latestDate, localDate } from '../key-policy.ts';
import { findSameName } from '../lists.ts';

/**
 * Making a key: its name, when it expires (the server's suggested lifetime first, each
 * preset with the date it gives, never past the server's maximum), what it may do (the
 * server's default scopes ticked) and which desktops it reaches (all, or some).
 */
export function NewKeyForm({
  policy,
  keys,
  desktops,
  onCreated,
}: {
  policy: KeyPolicy | null;
  keys: ApiKey[] | null;
  desktops: Desktop[] | null;
  onCreated: (created: IssuedKey) => void;
}) {
  const [name, setName] = useState('');
  const [expiry, setExpiry] = useState<string | null>(null);
  const [date, setDate] = useState('');
  const [scopes, setScopes] = useState<Set<Scope> | null>(null);
  const [someDesktops, setSomeDesktops] = useState(false);
  const [chosenDesktops, setChosenDesktops] = useState<Set<string>>(new Set());
  const [creating, setCreating] = useState(false);
  const [error, setError] = useState<unknown>(null);

  // The policy's defaults, once it is known (and again after each key made).
  useEffect(() => {
    if (!policy) return;
    setExpiry((e) => e ?? String(policy.suggestedLifetimeDays));
    setScopes((s) => s ?? new Set(policy.defaultScopes));
  }, [policy]);

  const now = Date.now();
  const { choices } = policy ? expiryChoices(policy, now, formatDay) : { choices: [] };
  const sameName = findSameName(keys, name);

  const toggleScope = (scope: Scope, on: boolean) =>
    setScopes((s) => {
      const next = new Set(s);
      if (on) next.add(scope);
      else next.delete(scope);
      return next;
    });
  const toggleDesktop = (id: string, on: boolean) =>
    setChosenDesktops((s) => {
      const next = new Set(s);
      if (on) next.add(id);
      else next.delete(id);
      return next;
    });

  const create = async (e: FormEvent) => {
    e.preventDefault();
    if (!policy || !scopes || expiry === null) return;
    const chosen = expiryFrom(expiry, date, policy, Date.now());
    if ('error' in chosen) return setError(chosen.error);
    if (scopes.size === 0) return setError('Choose at least one thing the key may do.');
    const bound = someDesktops ? (desktops ?? []).filter((d) => chosenDesktops.has(d.id)).map((d) => d.id) : null;
    if (bound && bound.length === 0) return setError('Choose the desktops the key may reach, or let it reach every desktop.');
    setCreating(true);
    setError(null);
    try {
      // In the policy's order, so the key lists its scopes as the server does.
      const ordered = policy.scopes.filter((s) => scopes.has(s));
      onCreated(await api.createApiKey({ name: name.trim(), expiresAt: chosen.expiresAt, scopes: ordered, desktops: bound }));
      setName('');
      setExpiry(String(policy.suggestedLifetimeDays));
      setDate('');
      setScopes(new Set(policy.defaultScopes));
      setSomeDesktops(false);
      setChosenDesktops(new Set());
    } catch (err) {
      setError(err);
    } finally {
      setCreating(false);
    }
  };

  const tomorrow = localDate(new Date(now + 86400_000));
  const ready = policy !== null && scopes !== null && expiry !== null;

  return (
    <>
      <form className="inline-form key-form" onSubmit={create} aria-label="Create an API key">
        <div className="fields">
          <div className="field grow">
            <label htmlFor="key-name">Name</label>
            <input
              id="key-name"
              value={name}
              onChange={(e) => setName(e.target.value)}
              maxLength={100}
              required
              placeholder="e.g. github-actions"
              autoComplete="off"
              aria-describedby={sameName ? 'key-name-hint' : undefined}
            />
          </div>
          <div className="field">
            <label htmlFor="key-expiry">Expires</label>
            <select id="key-expiry" value={expiry ?? ''} onChange={(e) => setExpiry(e.target.value)} disabled={!ready}>
              {choices.map((c) => (
                <option key={c.value} value={c.value}>
                  {c.label}
                </option>
              ))}
            </select>
          </div>
          {expiry === 'date' && policy && (
            <div className="field">
              <label htmlFor="key-expiry-date">Expiry date</label>
              <input
                id="key-expiry-date"
                type="date"
                min={tomorrow}
                max={latestDate(policy, now)}
                value={date}
                onChange={(e) => setDate(e.target.value)}
                required
              />
            </div>
          )}
        </div>
        {sameName && (
          <p id="key-name-hint" className="field-hint">
            A key called “{sameName.name}” already exists. You can create another, but two keys with one name are hard to tell apart when one must be revoked.
          </p>
        )}
        {policy?.maxLifetimeDays != null && <p className="muted small">Keys on this server must expire within {policy.maxLifetimeDays} days.</p>}

        <fieldset className="choices" data-testid="scope-choices">
          <legend>What it may do</legend>
          {policy?.scopes.map((scope) => (
            <div className="choice" key={scope}>
              <input
                type="checkbox"
                id={`scope-${scope}`}
                checked={scopes?.has(scope) ?? false}
                onChange={(e) => toggleScope(scope, e.target.checked)}
                aria-describedby={`scope-${scope}-text`}
              />
              <div>
                <label htmlFor={`scope-${scope}`}>
                  {SCOPE_TEXT[scope].title} <code className="muted">{scope}</code>
                </label>
                <p className="muted small" id={`scope-${scope}-text`}>
                  {SCOPE_TEXT[scope].description}
                </p>
              </div>
            </div>
          ))}
        </fieldset>

        <fieldset className="choices" data-testid="desktop-choices">
          <legend>Desktops it reaches</legend>
          <div className="choice">
            <input type="radio" id="desktops-all" name="key-desktops" checked={!someDesktops} onChange={() => setSomeDesktops(false)} />
            <label htmlFor="desktops-all">Every desktop, those made later too</label>
          </div>
          <div className="choice">
            <input
              type="radio"
              id="desktops-some"
              name="key-desktops"
              checked={someDesktops}
              onChange={() => setSomeDesktops(true)}
              disabled={!desktops?.length}
              aria-describedby="desktops-some-text"
            />
            <div>
              <label htmlFor="desktops-some">Only the desktops chosen here</label>
              <p className="muted small" id="desktops-some-text">
                {desktops?.length ? 'Other desktops do not exist for the key, and it cannot create any.' : 'You have no desktop yet.'}
              </p>
            </div>
          </div>
          {someDesktops && (
            <ul className="desktop-picks" aria-label="Desktops the key may reach">
              {desktops?.map((d) => (
                <li key={d.id} className="choice">
                  <input type="checkbox" id={`pick-${d.id}`} checked={chosenDesktops.has(d.id)} onChange={(e) => toggleDesktop(d.id, e.target.checked)} />
                  <label htmlFor={`pick-${d.id}`} className="name">
                    {d.name} <code className="muted">{d.id}</code>
                  </label>
                </li>
              ))}
            </ul>
          )}
        </fieldset>

        <div className="form-actions">
          <button type="submit" className="primary" disabled={creating || !name.trim() || !ready}>
            {creating ? 'Creating…' : 'Create key'}
          </button>
        </div>
      </form>
      <ErrorNotice error={error} />
    </>
  );
}
