import { useEffect, useState } from 'react';
import { feed } from '../activity.ts';
import { ListProblem, Loading, Time } from '../components.tsx';
import { formatDate } from '../format.ts';
import { type Usage, monitoring } from '../monitoring-api.ts';
import { useList } from '../use-list.ts';
import { UsageChart } from './usage-chart.tsx';
import {
  type RangeId,
  OUTCOMES,
  OUTCOME_TEXT,
  ROUTE_GROUPS,
  ROUTE_GROUP_TEXT,
  USAGE_RANGES,
  answersRange,
  busyPoints,
  rangeQuery,
  usageSummary,
} from '../usage-text.ts';

/** Usage moves with every request and no event says so: read again this often while the page is visible. */
export const USAGE_POLL_MS = 10_000;

/**
 * A key's requests over a range the reader picks (1 hour to 30 days): a chart stacked
 * by outcome, the same numbers in a sentence and in tables (for screen readers, and for
 * anyone who wants the figures), and which parts of the API they went to.
 */
export function KeyUsage({ keyId }: { keyId: string }) {
  const [rangeId, setRangeId] = useState<RangeId>('1h');
  const range = USAGE_RANGES.find((r) => r.id === rangeId)!;
  const usage = useList<Usage>(() => monitoring.usage(keyId, rangeQuery(range, Date.now())).then((u) => [u]), { pollMs: USAGE_POLL_MS });
  const shown = usage.items?.[0] ?? null;
  // The answer on screen is for the range picked (a slow answer for the last one is dropped).
  const current = shown && answersRange(shown, range) ? shown : null;

  useEffect(() => {
    void usage.reload();
  }, [rangeId]);
  // A use of the key from somewhere new, or anything it caused: read at once rather than at the next poll.
  useEffect(() => feed.onEvent((e) => e.target?.id === keyId && void usage.reload()), [keyId]);

  return (
    <section className="panel" aria-labelledby="usage-title" data-testid="key-usage">
      <div className="panel-head">
        <h2 id="usage-title">Usage</h2>
        <fieldset className="mode-switch">
          <legend className="sr-only">Period</legend>
          {USAGE_RANGES.map((r) => (
            <span key={r.id}>
              <input type="radio" id={`range-${r.id}`} name="usage-range" checked={r.id === rangeId} onChange={() => setRangeId(r.id)} />
              <label htmlFor={`range-${r.id}`}>{r.label}</label>
            </span>
          ))}
        </fieldset>
      </div>
      <ListProblem list={usage} what="usage" />
      {!current && !usage.error && <Loading what="usage" />}
      {current && (
        <>
          <p data-testid="usage-summary">{usageSummary(current.totals, range)}</p>
          <figure className="chart">
            <UsageChart series={current.series} step={current.step} />
            <figcaption>
              <ul className="legend" aria-label="Outcomes">
                {OUTCOMES.map((o) => (
                  <li key={o}>
                    <span className={`swatch swatch-${o}`} aria-hidden="true" />
                    {OUTCOME_TEXT[o].label} <span className="muted">{current.totals.outcomes[o].toLocaleString()}</span>
                  </li>
                ))}
              </ul>
              <span className="muted small">
                Requests per {current.step}, from <Time iso={current.from} /> to now.
              </span>
            </figcaption>
          </figure>
          <div className="usage-tables">
            <OutcomeTable usage={current} />
            <RouteTable usage={current} />
          </div>
          <TimeTable usage={current} />
        </>
      )}
    </section>
  );
}

function OutcomeTable({ usage }: { usage: Usage }) {
  return (
    <table className="figures" data-testid="usage-outcomes">
      <caption>How requests ended</caption>
      <thead>
        <tr>
          <th scope="col">Outcome</th>
          <th scope="col" className="number">
            Requests
          </th>
        </tr>
      </thead>
      <tbody>
        {OUTCOMES.map((o) => (
          <tr key={o} data-outcome={o}>
            <th scope="row">
              {OUTCOME_TEXT[o].label}
              <span className="muted small block">{OUTCOME_TEXT[o].meaning}</span>
            </th>
            <td className="number">{usage.totals.outcomes[o].toLocaleString()}</td>
          </tr>
        ))}
      </tbody>
      <tfoot>
        <tr>
          <th scope="row">All</th>
          <td className="number" data-testid="usage-total">
            {usage.totals.requests.toLocaleString()}
          </td>
        </tr>
      </tfoot>
    </table>
  );
}

function RouteTable({ usage }: { usage: Usage }) {
  const total = usage.totals.requests;
  return (
    <table className="figures" data-testid="usage-routes">
      <caption>What they were for</caption>
      <thead>
        <tr>
          <th scope="col">Part of the API</th>
          <th scope="col" className="number">
            Requests
          </th>
          <th scope="col" className="number">
            Share
          </th>
        </tr>
      </thead>
      <tbody>
        {ROUTE_GROUPS.map((g) => {
          const n = usage.totals.routes[g];
          return (
            <tr key={g} data-group={g}>
              <th scope="row">{ROUTE_GROUP_TEXT[g]}</th>
              <td className="number">{n.toLocaleString()}</td>
              <td className="number share">
                <meter min={0} max={Math.max(total, 1)} value={n} aria-hidden="true" />
                {total ? `${Math.round((n / total) * 100)} %` : '—'}
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

/** The chart's numbers, one row per minute or hour that had requests. */
function TimeTable({ usage }: { usage: Usage }) {
  const rows = busyPoints(usage.series);
  return (
    <details className="time-table">
      <summary>The chart as a table ({rows.length === 1 ? `1 ${usage.step}` : `${rows.length} ${usage.step}s`} with requests)</summary>
      {rows.length === 0 ? (
        <p className="muted">No requests in this period.</p>
      ) : (
        <div className="table-scroll">
          <table className="figures" data-testid="usage-times">
            <caption className="sr-only">Requests per {usage.step}, by outcome</caption>
            <thead>
              <tr>
                <th scope="col">{usage.step === 'minute' ? 'Minute' : 'Hour'}</th>
                <th scope="col" className="number">
                  All
                </th>
                {OUTCOMES.map((o) => (
                  <th scope="col" className="number" key={o}>
                    {o}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {rows.map((p) => (
                <tr key={p.at}>
                  <th scope="row">
                    <time dateTime={p.at}>{formatDate(p.at)}</time>
                  </th>
                  <td className="number">{p.requests}</td>
                  {OUTCOMES.map((o) => (
                    <td className="number" key={o}>
                      {p.outcomes[o]}
                    </td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </details>
  );
}
