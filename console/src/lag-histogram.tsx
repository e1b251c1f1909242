// The lag distribution as a plain bar chart: a table whose rows are the API's fixed slots, each with its
// count and a bar as wide as its share of the largest slot. Being a table, it is its own text alternative.
import type { RunStats } from './runs-api';

export function formatMs(ms: number | null): string {
  if (ms === null) return '—';
  if (Math.abs(ms) < 1000) return `${Math.round(ms)} ms`;
  if (Math.abs(ms) < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1).replace(/\.?0+$/, '')} s`;
  return `${(ms / 60_000).toFixed(1).replace(/\.0$/, '')} min`;
}

/** Slot i holds lags below edgesMs[i] and at or above the edge before; the last holds the rest. */
function slotLabels(edges: readonly number[]): string[] {
  return [...edges, null].map((edge, i) => {
    if (edge === null) return `≥ ${formatMs(edges.at(-1) ?? 0)}`;
    if (i === 0) return `< ${formatMs(edge)}`;
    return `${formatMs(edges[i - 1] ?? 0)} – ${formatMs(edge)}`;
  });
}

export function LagHistogram({ lag }: { lag: RunStats['lag'] }) {
  const labels = slotLabels(lag.edgesMs);
  const largest = Math.max(1, ...lag.counts);
  const caption =
    lag.count === 0
      ? 'Lag of runs started in the window: none started'
      : `Lag of the ${lag.count} runs started in the window: p50 ${formatMs(lag.p50Ms)}, p99 ${formatMs(lag.p99Ms)}`;
  return (
    <figure className="chart">
      <figcaption>{caption}</figcaption>
      <div className="table-scroll">
        <table className="histogram" data-testid="lag-histogram">
          <thead>
            <tr>
              <th scope="col">Lag</th>
              <th scope="col">Runs</th>
              <th scope="col">
                <span className="visually-hidden">Share</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {lag.counts.map((count, i) => (
              <tr key={labels[i]}>
                <th scope="row">{labels[i]}</th>
                <td>{count}</td>
                <td className="bar-cell" aria-hidden="true">
                  <div className="bar" style={{ width: `${(100 * count) / largest}%` }} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </figure>
  );
}
