// Where a loss's predictions and targets live (the catalogue's input modes): the range a curve
// covers by default, its default target, and example arrays for the "try it" form.

const CURVE_RANGES = {
  real: [-3, 3],
  unit_interval: [0.01, 0.99],
  nonnegative: [0, 5],
  positive: [0.05, 5],
  greater_than_minus_one: [-0.95, 3],
};
const CURVE_TARGETS = { real: 0, sign: 1, unit_interval: 1, nonnegative: 1, positive: 1, greater_than_minus_one: 0 };

// The modes whose scalar prediction a curve can sweep.
export const curveModes = (entry) => entry.input_modes.filter((mode) => mode.predictions in CURVE_RANGES);
export const curveRange = (mode) => CURVE_RANGES[mode.predictions];
export const curveTarget = (mode) => CURVE_TARGETS[mode.targets[0]] ?? 1;
export const signTargets = (mode) => mode.targets[0] === "sign";

const SCALAR_EXAMPLES = {
  real: "0.2 1.5 -0.7 3.0",
  unit_interval: "0.9 0.2 0.6 0.3",
  nonnegative: "0.5 2 1 3",
  positive: "0.5 2 1 3",
  greater_than_minus_one: "0.2 1.5 0.7 3.0",
  sign: "1 -1 1 -1",
  class_index: "1 0 1 0",
};
const SCALAR_TARGETS = { ...SCALAR_EXAMPLES, real: "0 1 -1 2.5", unit_interval: "1 0 1 0", nonnegative: "1 2 0 3" };
const ROW_EXAMPLES = {
  simplex: "[[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.2, 0.3, 0.5]]",
  log_simplex: "[[-0.2231, -1.6094, -2.3026], [-2.3026, -0.2231, -1.6094], [-1.6094, -1.2040, -0.6931]]",
  real: "[[2.0, -1.0, 0.5], [0.1, 0.2, 3.0], [1.0, 1.0, -2.0]]",
  unit_interval: "[[0.9, 0.1, 0.8], [0.2, 0.7, 0.1], [0.3, 0.2, 0.6]]",
};
const ROW_TARGETS = {
  class_index: "[0, 1, 2]",
  simplex: "[[1, 0, 0], [0, 1, 0], [0, 0, 1]]",
  log_simplex: "[[-0.2231, -2.3026, -2.3026], [-2.3026, -0.2231, -2.3026], [-2.3026, -2.3026, -0.2231]]",
  unit_interval: "[[1, 0, 1], [0, 1, 0], [0, 0, 1]]",
  real: "[[1, 0, 1], [0, 1, 0], [0.5, 0.5, 0]]",
};

// Example predictions and targets for a mode: one number per sample where the loss takes a scalar
// prediction (entry.curve), rows otherwise.
export function examples(entry, mode) {
  const [predictions, targets] = entry.curve ? [SCALAR_EXAMPLES, SCALAR_TARGETS] : [ROW_EXAMPLES, ROW_TARGETS];
  return { predictions: predictions[mode.predictions] ?? "", targets: targets[mode.targets[0]] ?? "" };
}
