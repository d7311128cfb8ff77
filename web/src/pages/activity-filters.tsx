import { type ActivityFilter, NO_FILTER, TYPE_LABELS, isFiltered } from '../activity-filter.ts';
import { useNames } from '../names.ts';

/** Alerts only, by key, by desktop, by type: applied to the events loaded (scrolling loads more). */
export function ActivityFilters({
  filter,
  onChange,
  shown,
  loaded,
}: {
  filter: ActivityFilter;
  onChange: (next: ActivityFilter) => void;
  shown: number;
  loaded: number;
}) {
  const names = useNames();
  const keys = [...names.allKeys()].sort((a, b) => a[1].name.localeCompare(b[1].name));
  const desktops = names.allDesktops().sort((a, b) => a[1].localeCompare(b[1]));
  const set = (patch: Partial<ActivityFilter>) => onChange({ ...filter, ...patch });
  return (
    <form className="filters" aria-label="Filter the activity" onSubmit={(e) => e.preventDefault()}>
      <div className="filter-check">
        <input id="filter-alerts" type="checkbox" checked={filter.alerts} onChange={(e) => set({ alerts: e.target.checked })} />
        <label htmlFor="filter-alerts">Alerts only</label>
      </div>
      <div className="field">
        <label htmlFor="filter-key">Key</label>
        <select id="filter-key" value={filter.key} onChange={(e) => set({ key: e.target.value })}>
          <option value="">All keys</option>
          {keys.map(([id, k]) => (
            <option key={id} value={id}>
              {k.name} ({k.keyId})
            </option>
          ))}
          {filter.key && !names.key(filter.key) && <option value={filter.key}>{filter.key}</option>}
        </select>
      </div>
      <div className="field">
        <label htmlFor="filter-desktop">Desktop</label>
        <select id="filter-desktop" value={filter.desktop} onChange={(e) => set({ desktop: e.target.value })}>
          <option value="">All desktops</option>
          {desktops.map(([id, name]) => (
            <option key={id} value={id}>
              {name} ({id})
            </option>
          ))}
          {filter.desktop && !names.desktop(filter.desktop) && <option value={filter.desktop}>{filter.desktop}</option>}
        </select>
      </div>
      <div className="field">
        <label htmlFor="filter-type">Type</label>
        <select id="filter-type" value={filter.type} onChange={(e) => set({ type: e.target.value })}>
          <option value="">All types</option>
          {Object.entries(TYPE_LABELS).map(([type, label]) => (
            <option key={type} value={type}>
              {label}
            </option>
          ))}
        </select>
      </div>
      {isFiltered(filter) && (
        <div className="filter-summary">
          <span className="small" role="status" data-testid="filter-summary">
            Showing {shown} of {loaded} loaded event{loaded === 1 ? '' : 's'}.
          </span>{' '}
          <button type="button" className="link-button" onClick={() => onChange(NO_FILTER)}>
            Clear filters
          </button>
        </div>
      )}
    </form>
  );
}
