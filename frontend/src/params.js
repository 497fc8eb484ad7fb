// A loss's parameters as a form, built from the JSON Schema in its catalogue entry: one input per
// parameter, filled with its default. Parameters fixed by an input mode are shown but locked.
import { h } from "./dom.js";

// The schema of a property without its null alternative, and whether null is allowed.
function unwrap(property) {
  const options = property.anyOf ?? [property];
  const concrete = options.filter((o) => o.type !== "null");
  return { schema: concrete.length === 1 ? { ...property, ...concrete[0] } : property, nullable: concrete.length < options.length };
}

function constraints(schema) {
  const parts = [];
  if (schema.exclusiveMinimum !== undefined) parts.push(`> ${schema.exclusiveMinimum}`);
  if (schema.minimum !== undefined) parts.push(`≥ ${schema.minimum}`);
  if (schema.exclusiveMaximum !== undefined) parts.push(`< ${schema.exclusiveMaximum}`);
  if (schema.maximum !== undefined) parts.push(`≤ ${schema.maximum}`);
  return parts.join(", ");
}

const show = (value) => (value === null ? "null" : JSON.stringify(value));

function input(name, schema, nullable, onChange) {
  const common = { "data-param": name, "aria-label": name, onchange: onChange, oninput: onChange };
  if (schema.enum) return h("select", common, schema.enum.map((v) => h("option", { value: v }, v)));
  if (schema.type === "boolean") return h("input", { ...common, type: "checkbox" });
  if (schema.type === "number" || schema.type === "integer") {
    const step = schema.type === "integer" ? 1 : "any";
    return h("input", { ...common, type: "number", step, placeholder: nullable ? "null" : "" });
  }
  return h("input", { ...common, type: "text", placeholder: nullable ? "null (JSON)" : "JSON", spellcheck: false });
}

function read(element, schema, nullable) {
  if (element.type === "checkbox") return element.checked;
  if (element.tagName === "SELECT") return element.value;
  const text = element.value.trim();
  if (text === "") return nullable ? null : undefined;
  if (element.type === "number") return Number(text);
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function write(element, value) {
  if (element.type === "checkbox") element.checked = Boolean(value);
  else element.value = value === null || value === undefined ? "" : typeof value === "object" ? JSON.stringify(value) : value;
}

// {element, values(), setFixed(fixed)}: values() is what to send (defaults included, fixed values
// applied); onChange runs on every edit.
export function paramsForm(entry, onChange) {
  const properties = entry.parameters.properties ?? {};
  const rows = Object.entries(properties).map(([name, property]) => {
    const { schema, nullable } = unwrap(property);
    const control = input(name, schema, nullable, () => onChange());
    write(control, property.default);
    const row = h(
      "tr",
      {},
      h("th", { scope: "row" }, h("code", {}, name)),
      h("td", {}, control),
      h("td", {}, h("code", {}, show(property.default))),
      h("td", {}, constraints(schema)),
      h("td", {}, property.description ?? ""),
    );
    return { name, property, schema, nullable, control, row };
  });
  const element = rows.length
    ? h(
        "table",
        { class: "params", "data-testid": "params" },
        h("thead", {}, h("tr", {}, ["parameter", "value", "default", "range", "meaning"].map((t) => h("th", {}, t)))),
        h("tbody", {}, rows.map((r) => r.row)),
      )
    : h("p", { class: "muted" }, "No parameters.");
  return {
    element,
    values() {
      const values = {};
      for (const { name, schema, nullable, control } of rows) {
        const value = read(control, schema, nullable);
        if (value !== undefined) values[name] = value;
      }
      return values;
    },
    setFixed(fixed) {
      for (const { name, property, control } of rows) {
        const locked = name in fixed;
        if (locked) write(control, fixed[name]);
        else if (control.disabled) write(control, property.default);
        control.disabled = locked;
        control.title = locked ? "fixed by the input mode" : "";
      }
    },
  };
}
