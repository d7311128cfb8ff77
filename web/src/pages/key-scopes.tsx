import { type FormEvent, useEffect, useState } from 'react';
import { type ApiKey, type KeyPolicy, type Scope, api } from '../api.ts';
import { ErrorNotice } from '../components.tsx';
import { SCOPE_TEXT } from '../key-policy.ts';

/**
 * What a key may do, changed in place (PATCH /api/api-keys/:id): how a key made before
 * scopes existed is granted keys:manage, or a key is narrowed to what its program
 * needs. It applies at the key's next request, on every process.
 */
export function KeyScopes({ apiKey, policy, onSaved }: { apiKey: ApiKey; policy: KeyPolicy; onSaved: (key: ApiKey) => void }) {
  const [chosen, setChosen] = useState<Set<Scope>>(() => new Set(apiKey.scopes));
  const [saving, setSaving] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const editable = apiKey.state === 'active';
  const saved = apiKey.scopes.join(' ');

  // The key changed elsewhere (another tab, a script): show what it holds now.
  useEffect(() => setChosen(new Set(apiKey.scopes)), [saved]);

  const ordered = policy.scopes.filter((s) => chosen.has(s));
  const changed = ordered.join(' ') !== policy.scopes.filter((s) => apiKey.scopes.includes(s)).join(' ');

  const save = async (e: FormEvent) => {
    e.preventDefault();
    if (!changed || saving) return;
    if (ordered.length === 0) return setError('Choose at least one thing the key may do.');
    setSaving(true);
    setError(null);
    try {
      onSaved(await api.updateKeyScopes(apiKey.id, ordered));
    } catch (err) {
      setError(err);
    } finally {
      setSaving(false);
    }
  };

  return (
    <form onSubmit={save} className="panel" aria-labelledby="scopes-title" data-testid="key-scopes">
      <h2 id="scopes-title">What it may do</h2>
      {!editable && <p className="muted small">The key no longer works: its scopes cannot change.</p>}
      <fieldset className="choices" disabled={!editable}>
        <legend className="sr-only">Scopes of {apiKey.name}</legend>
        {policy.scopes.map((scope) => (
          <div className="choice" key={scope}>
            <input
              type="checkbox"
              id={`key-scope-${scope}`}
              checked={chosen.has(scope)}
              onChange={(e) =>
                setChosen((s) => {
                  const next = new Set(s);
                  if (e.target.checked) next.add(scope);
                  else next.delete(scope);
                  return next;
                })
              }
              aria-describedby={`key-scope-${scope}-text`}
            />
            <div>
              <label htmlFor={`key-scope-${scope}`}>
                {SCOPE_TEXT[scope].title} <code className="muted">{scope}</code>
              </label>
              <p className="muted small" id={`key-scope-${scope}-text`}>
                {SCOPE_TEXT[scope].description}
              </p>
            </div>
          </div>
        ))}
      </fieldset>
      <ErrorNotice error={error} />
      {editable && (
        <div className="form-actions">
          <button type="submit" className="primary" aria-disabled={!changed || saving || undefined}>
            {saving ? 'Saving…' : 'Save scopes'}
          </button>
          {changed && <span className="muted small">Applies from the key's next request.</span>}
        </div>
      )}
    </form>
  );
}
