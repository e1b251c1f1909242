// Runs finished per bucket, one line per outcome, drawn by uPlot on a canvas. The canvas is an image to a
// screen reader: the figure names it (its totals in the aria-label) and a table beside it gives the same
// numbers as text. uPlot styles its elements through the CSSOM, which the console's CSP allows.
import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { RunStats } from './runs-api';

/** The outcomes in the order the API counts them, each with its line colour. */
const OUTCOME_COLOURS: readonly [string, string][] = [
  ['succeeded', '#1a7f37'],
  ['failed', '#b00020'],
  ['timed_out', '#bc4c00'],
  ['oom_killed', '#8250df'],
  ['lost', '#57606a'],
  ['cancelled', '#0969da'],
  ['skipped', '#9a6700'],
];
const HEIGHT = 220;

export function outcomeTotals(stats: RunStats): [string, number][] {
  return OUTCOME_COLOURS.map(([outcome]) => [
    outcome,
    stats.series.reduce((sum, bucket) => sum + (bucket.counts[outcome] ?? 0), 0),
  ]);
}

function dataOf(stats: RunStats): uPlot.AlignedData {
  return [
    stats.series.map((bucket) => Date.parse(bucket.start) / 1000),
    ...OUTCOME_COLOURS.map(([outcome]) => stats.series.map((bucket) => bucket.counts[outcome] ?? 0)),
  ];
}

export function OutcomeChart({ stats }: { stats: RunStats }) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  // The chart is made once and given each new answer by setData; it starts with the one at hand.
  const latest = useRef(stats);
  latest.current = stats;
  const per = stats.bucketSeconds === 60 ? 'minute' : `${stats.bucketSeconds / 60} minutes`;
  const totals = outcomeTotals(stats);
  const summary = totals.map(([outcome, count]) => `${count} ${outcome}`).join(', ');
  const label = `Runs finished per ${per} by outcome, ${stats.window === '1h' ? 'last hour' : 'last day'}: ${summary}`;

  useEffect(() => {
    const element = box.current;
    if (element === null) return;
    const width = (): number => Math.max(200, element.clientWidth);
    const chart = new uPlot(
      {
        width: width(),
        height: HEIGHT,
        scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(1, max)] } },
        axes: [{}, { label: 'runs' }],
        series: [{}, ...OUTCOME_COLOURS.map(([outcome, stroke]) => ({ label: outcome, stroke, width: 2 }))],
      },
      dataOf(latest.current),
      element,
    );
    plot.current = chart;
    const resize = new ResizeObserver(() => chart.setSize({ width: width(), height: HEIGHT }));
    resize.observe(element);
    return () => {
      resize.disconnect();
      chart.destroy();
      plot.current = null;
    };
  }, []);

  useEffect(() => {
    plot.current?.setData(dataOf(stats));
  }, [stats]);

  return (
    <figure className="chart">
      <figcaption>Runs finished per {per}</figcaption>
      <div ref={box} role="img" aria-label={label} data-testid="outcome-chart" className="chart-box" />
      <div className="table-scroll">
        <table aria-label="Runs finished by outcome" data-testid="outcome-totals">
          <thead>
            <tr>
              {totals.map(([outcome]) => (
                <th scope="col" key={outcome}>
                  {outcome}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            <tr>
              {totals.map(([outcome, count]) => (
                <td key={outcome} data-outcome={outcome}>
                  {count}
                </td>
              ))}
            </tr>
          </tbody>
        </table>
      </div>
    </figure>
  );
}
