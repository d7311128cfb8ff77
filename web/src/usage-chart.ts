/**
 * Draws a key's requests over time as stacked bars, with uPlot (a small canvas chart
 * library). This module is loaded only when a key's page shows a chart, so a first
 * visit does not pay for it, and it imports nothing the rest of the dashboard does:
 * the build keeps it a chunk of its own (uPlot and its stylesheet) rather than pulling
 * shared code into a third file every page would preload.
 *
 * The stylesheet is bundled by Vite into our own /assets/ (a <link>, as the CSP's
 * style-src 'self' wants). uPlot sizes and places its elements by setting element.style
 * from script, which the CSP allows: style-src governs <style> elements and style
 * attributes in HTML, not the CSSOM.
 */
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface ChartInput {
  /** Seconds since the epoch, the start of each step. */
  x: number[];
  /** Running totals, the top of the stack first: each drawn over the one before. */
  bands: Array<{ values: number[]; colour: string }>;
  step: 'minute' | 'hour';
  /** Axis text and grid lines (the page's colours, light or dark). */
  text: string;
  grid: string;
}

export interface UsageChartHandle {
  update(input: ChartInput): void;
  destroy(): void;
}

const HEIGHT = 220;

function options(width: number, input: ChartInput): uPlot.Options {
  const axis = { stroke: input.text, grid: { stroke: input.grid, width: 1 }, ticks: { stroke: input.grid, width: 1 } };
  const bars = uPlot.paths.bars!({ size: [0.85, 40, 1], align: 1 });
  return {
    width,
    height: HEIGHT,
    legend: { show: false },
    cursor: { drag: { x: false, y: false }, points: { show: false } },
    // Each bar starts at its step and fills it: the scale runs to the end of the last step.
    scales: {
      x: { time: true, range: (_u, min, max) => [min, max + (input.step === 'minute' ? 60 : 3600)] },
      y: { range: (_u, _min, max) => [0, Math.max(1, max)] },
    },
    axes: [
      { ...axis, space: input.step === 'minute' ? 60 : 70 },
      { ...axis, size: 48, values: (_u, ticks) => ticks.map((t) => (Number.isInteger(t) ? t.toLocaleString() : '')) },
    ],
    series: [{}, ...input.bands.map((b) => ({ fill: b.colour, stroke: b.colour, width: 0, paths: bars, points: { show: false } }))],
  };
}

const dataOf = (input: ChartInput): uPlot.AlignedData => [input.x, ...input.bands.map((b) => b.values)];

/**
 * A chart in `el`, as wide as it is (and following its width). A new step or new
 * colours need a new chart (axes and fills are fixed when it is made); new numbers
 * do not.
 */
export function drawUsageChart(el: HTMLElement, first: ChartInput): UsageChartHandle {
  let shape = '';
  let chart: uPlot | null = null;
  const make = (input: ChartInput) => {
    chart?.destroy();
    shape = `${input.step} ${input.text} ${input.grid} ${input.bands.map((b) => b.colour).join(' ')}`;
    chart = new uPlot(options(el.clientWidth, input), dataOf(input), el);
  };
  make(first);
  const resize = new ResizeObserver(() => {
    if (chart && el.clientWidth > 0 && el.clientWidth !== chart.width) chart.setSize({ width: el.clientWidth, height: HEIGHT });
  });
  resize.observe(el);
  return {
    update(input) {
      const next = `${input.step} ${input.text} ${input.grid} ${input.bands.map((b) => b.colour).join(' ')}`;
      if (next !== shape || !chart) make(input);
      else chart.setData(dataOf(input));
    },
    destroy() {
      resize.disconnect();
      chart?.destroy();
      chart = null;
    },
  };
}
