import { useEffect, useRef, useState } from 'react';
import type { UsagePoint } from '../monitoring-api.ts';
import type { ChartInput, UsageChartHandle } from '../usage-chart.ts';
import { stackedSeries } from '../usage-text.ts';

/** uPlot and the drawing code, fetched the first time a chart is shown (a chunk of their own). */
let drawing: Promise<typeof import('../usage-chart.ts')> | null = null;
const loadDrawing = () => (drawing ??= import('../usage-chart.ts').catch((err: unknown) => ((drawing = null), Promise.reject(err))));

/** Whether the page is in dark colours now (the chart is drawn in the colours of the scheme). */
function useDarkScheme(): boolean {
  const [dark, setDark] = useState(() => matchMedia('(prefers-color-scheme: dark)').matches);
  useEffect(() => {
    const scheme = matchMedia('(prefers-color-scheme: dark)');
    const changed = () => setDark(scheme.matches);
    scheme.addEventListener('change', changed);
    return () => scheme.removeEventListener('change', changed);
  }, []);
  return dark;
}

/** What to draw: the stacks, top first, in the page's colours (styles: --chart-*, light and dark). */
function chartInput(el: HTMLElement, series: UsagePoint[], step: 'minute' | 'hour'): ChartInput {
  const css = getComputedStyle(el);
  const v = (name: string) => css.getPropertyValue(name).trim();
  const { x, stacks } = stackedSeries(series);
  return {
    x,
    bands: [...stacks].reverse().map((s) => ({ values: s.values, colour: v(`--chart-${s.outcome}`) })),
    step,
    text: v('--muted'),
    grid: v('--border'),
  };
}

/**
 * A key's requests over time, stacked by outcome. The chart is a picture for sighted
 * readers (aria-hidden): the page gives the same numbers as a sentence and tables.
 */
export function UsageChart({ series, step }: { series: UsagePoint[]; step: 'minute' | 'hour' }) {
  const box = useRef<HTMLDivElement>(null);
  const chart = useRef<UsageChartHandle | null>(null);
  const [failed, setFailed] = useState(false);
  const dark = useDarkScheme();

  useEffect(() => {
    let gone = false;
    loadDrawing().then(
      ({ drawUsageChart }) => {
        if (gone || !box.current) return;
        chart.current = drawUsageChart(box.current, chartInput(box.current, series, step));
      },
      () => !gone && setFailed(true),
    );
    return () => {
      gone = true;
      chart.current?.destroy();
      chart.current = null;
    };
  }, []);

  useEffect(() => {
    if (chart.current && box.current) chart.current.update(chartInput(box.current, series, step));
  }, [series, step, dark]);

  return (
    <>
      <div ref={box} className="usage-chart" aria-hidden="true" data-testid="usage-chart" />
      {failed && <p className="muted small">The chart could not be loaded; the tables below have the same numbers.</p>}
    </>
  );
}
