// From GET /v1/runs/{run}/series to chart columns. Points are never sampled: when a run has more
// buckets than max_points the service merges adjacent ones, and a point stands at the middle of the
// range it covers.

// The intervals offered for series over time, in seconds.
export const INTERVALS = [
  [60, "1 minute"],
  [300, "5 minutes"],
  [3600, "1 hour"],
  [86400, "1 day"],
];
const AUTO_LADDER = [1, 5, 10, 30, 60, 300, 900, 3600, 6 * 3600, 86400, 7 * 86400];
const AUTO_BUCKETS = 200;

// The smallest interval that covers the run's time span in at most ~200 buckets.
export function autoInterval(firstTime, lastTime) {
  const span = (Date.parse(lastTime) - Date.parse(firstTime)) / 1000;
  return AUTO_LADDER.find((seconds) => span / seconds <= AUTO_BUCKETS) ?? AUTO_LADDER.at(-1);
}

export function pointX(point, by) {
  if (by === "step") return (point.step + (point.step_to ?? point.step)) / 2;
  return (Date.parse(point.start) + Date.parse(point.end ?? point.start)) / 2000;
}

const quantile = (point, q) => point.stats?.quantiles?.[q] ?? null;

// Splits in a stable order: train, then validation, then the others by name.
export function orderSplits(splits) {
  const rank = (s) => (s === "train" ? 0 : s === "validation" ? 1 : 2);
  return [...splits].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}

// A run may hold one loss with several parameter sets: a loss is its name and its parameters.
export const lossKey = (name, params) =>
  `${name}${JSON.stringify(Object.entries(params ?? {}).sort(([a], [b]) => a.localeCompare(b)))}`;

const paramsText = (params) => Object.entries(params).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(", ");

// The run's losses ({name, ...params} as GET /v1/runs/{run} gives them) as {key, name, params, label}.
export function runLosses(run) {
  return (run.losses ?? []).map(({ name, ...params }) => ({
    key: lossKey(name, params),
    name,
    params,
    label: Object.keys(params).length ? `${name} (${paramsText(params)})` : name,
  }));
}

// Groups the answer's series by loss: Map(lossKey -> [{split, points}]) with splits in order.
export function byLoss(answer) {
  const groups = new Map();
  for (const series of answer.series) {
    const key = lossKey(series.loss, series.params);
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key).push(series);
  }
  for (const list of groups.values()) {
    const order = orderSplits(list.map((s) => s.split));
    list.sort((a, b) => order.indexOf(a.split) - order.indexOf(b.split));
  }
  return groups;
}

// One chart's data: the x of every point of every split, and per split its value, p50 and p90
// (null where the split has no point at that x).
export function columns(seriesOfOneLoss, by) {
  const xs = [...new Set(seriesOfOneLoss.flatMap((s) => s.points.map((p) => pointX(p, by))))].sort((a, b) => a - b);
  const position = new Map(xs.map((x, i) => [x, i]));
  const splits = seriesOfOneLoss.map((series) => {
    const empty = () => new Array(xs.length).fill(null);
    const column = { split: series.split, points: series.points.length, value: empty(), p50: empty(), p90: empty() };
    for (const point of series.points) {
      const i = position.get(pointX(point, by));
      column.value[i] = point.value;
      column.p50[i] = quantile(point, "0.5");
      column.p90[i] = quantile(point, "0.9");
    }
    return column;
  });
  return { xs, splits };
}
