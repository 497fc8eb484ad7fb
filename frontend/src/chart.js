// uPlot charts that follow their container's width. The chart's element keeps the uPlot instance as
// `element.uplot` (what is drawn: `element.uplot.data`); a chart is rebuilt only when its series
// change, otherwise new data is drawn in place.
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";

export const COLORS = ["#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#ca8a04", "#db2777"];

export const color = (index) => COLORS[index % COLORS.length];
export const translucent = (hex, alpha = 0.15) => {
  const [r, g, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
  return `rgba(${r}, ${g}, ${b}, ${alpha})`;
};

// Tick spacings for an axis of whole numbers (steps): 1, 2, 5, 10, 20, 50, …
const INTEGER_STEPS = Array.from({ length: 16 }, (_, i) => [1, 2, 5].map((m) => m * 10 ** i)).flat();

const observers = new WeakMap();

function follow(element, height) {
  if (observers.has(element)) return;
  const observer = new ResizeObserver(() => {
    const width = element.clientWidth;
    if (element.uplot && width && width !== element.uplot.width) element.uplot.setSize({ width, height });
  });
  observer.observe(element);
  observers.set(element, observer);
}

// `config`: {series: [uPlot series options], key: what identifies those series, height,
// x: {label, time, integer (ticks on whole numbers only), range(u, min, max) -> [min, max]},
// y: {label, log}, bands, legend (false: none), draw(u), select(min, max), sync}. `data`: [xs, ...ys].
export function draw(element, config, data) {
  const height = config.height ?? 260;
  if (element.uplot && element.dataset.chartKey === config.key) {
    element.uplot.setData(data);
    return element.uplot;
  }
  element.uplot?.destroy();
  const options = {
    width: element.clientWidth || 600,
    height,
    scales: {
      x: { time: config.x?.time ?? false, ...(config.x?.range ? { range: config.x.range } : {}) },
      y: config.y?.log ? { distr: 3 } : {},
    },
    series: [{ label: config.x?.label ?? "x" }, ...config.series],
    axes: [{ label: config.x?.label, ...(config.x?.integer ? { incrs: INTEGER_STEPS } : {}) }, { label: config.y?.label, size: 70 }],
    bands: config.bands ?? [],
    legend: { show: config.legend ?? true },
    cursor: {
      drag: { x: Boolean(config.select), y: false, setScale: false },
      sync: config.sync ? { key: config.sync } : undefined,
    },
    hooks: {
      draw: config.draw ? [config.draw] : [],
      setSelect: config.select
        ? [
            (u) => {
              if (u.select.width < 2) return;
              const min = u.posToVal(u.select.left, "x");
              const max = u.posToVal(u.select.left + u.select.width, "x");
              u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
              config.select(min, max);
            },
          ]
        : [],
    },
  };
  element.replaceChildren();
  element.uplot = new uPlot(options, data, element);
  element.dataset.chartKey = config.key;
  follow(element, height);
  return element.uplot;
}

// A dashed vertical line at x with a label, inside the plotting area (for a draw hook). Returns
// whether it was drawn (x inside the scale). `row` moves the label down, so that two near markers
// keep their labels apart.
export function marker(u, x, label, stroke, row = 0) {
  if (x === null || x === undefined || x < u.scales.x.min || x > u.scales.x.max) return false;
  const { ctx, bbox } = u;
  const left = Math.round(u.valToPos(x, "x", true));
  ctx.save();
  ctx.strokeStyle = stroke;
  ctx.fillStyle = stroke;
  ctx.lineWidth = 1.5 * devicePixelRatio;
  ctx.setLineDash([5 * devicePixelRatio, 4 * devicePixelRatio]);
  ctx.beginPath();
  ctx.moveTo(left, bbox.top);
  ctx.lineTo(left, bbox.top + bbox.height);
  ctx.stroke();
  ctx.font = `${11 * devicePixelRatio}px system-ui, sans-serif`;
  ctx.textAlign = "left";
  ctx.textBaseline = "alphabetic";
  // The label reads to the right of the line, or to its left where it would leave the plot.
  const width = ctx.measureText(label).width;
  const right = left + 4 * devicePixelRatio;
  const textLeft = right + width > bbox.left + bbox.width ? left - 4 * devicePixelRatio - width : right;
  ctx.fillText(label, textLeft, bbox.top + (12 + 14 * row) * devicePixelRatio);
  ctx.restore();
  return true;
}
