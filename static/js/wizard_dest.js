// Wizard step 4: destination per table: a new table (types, nullability, partitioning, clustering) or an
// existing one with the compatibility report.
import { call, el } from "./api.js";
import { warehouseType } from "./wizard_tables.js";

const TYPES = ["STRING", "INT64", "FLOAT64", "NUMERIC", "BOOL", "DATE", "DATETIME", "TIMESTAMP", "TIME", "BYTES", "JSON"];
const TEMPORAL = ["TIMESTAMP", "DATETIME", "DATE"];
let existingTables = null;

export function safeName(text) {
  const name = String(text || "").toLowerCase().replace(/[^a-z0-9_]+/g, "_").replace(/^_+|_+$/g, "");
  return (/^[a-z_]/.test(name) ? name : `t_${name}`).slice(0, 128) || "table_1";
}

export function ensureDest(t) {
  if (!t.dest) t.dest = { mode: "new", table: t.destTable || safeName(t.name), types: {}, required: {}, partition: "", granularity: "DAY", cluster: [], existing: "", compat: null };
  return t.dest;
}

function selectedColumns(t) {
  return t.columns.filter((c) => t.selected.has(c.name));
}

function typeOf(t, c) {
  return t.dest.types[c.name] || warehouseType(c);
}

async function loadExisting(projectId) {
  if (existingTables) return existingTables;
  try {
    const data = await call("list_bq_tables", { method: "GET", query: { model_id: projectId } });
    existingTables = (data.tables || []).map((x) => (typeof x === "string" ? x : x.name || x.table_id));
  } catch (err) {
    existingTables = [];
  }
  return existingTables;
}

function columnsTable(t) {
  const rows = selectedColumns(t).map((c) => {
    const type = el("select", { "aria-label": `Type of ${c.name}` }, TYPES.map((x) => el("option", { value: x, text: x, selected: typeOf(t, c) === x })));
    type.addEventListener("change", () => { t.dest.types[c.name] = type.value; });
    const required = el("input", { type: "checkbox", checked: Boolean(t.dest.required[c.name]), "aria-label": `${c.name} is required` });
    required.addEventListener("change", () => { t.dest.required[c.name] = required.checked; });
    return el("tr", {}, el("td", {}, el("code", { text: c.name })), el("td", {}, type), el("td", {}, el("label", { className: "check" }, required, "not null")));
  });
  return el("table", { className: "table dest-columns" }, el("thead", {}, el("tr", {}, el("th", { text: "Column" }), el("th", { text: "Type" }), el("th", { text: "Nullability" }))), el("tbody", {}, rows));
}

function layoutFields(t, i) {
  const cols = selectedColumns(t);
  const partition = el("select", { id: `wz-partition-${i}` }, el("option", { value: "", text: "No partitioning" }),
    cols.filter((c) => TEMPORAL.includes(typeOf(t, c))).map((c) => el("option", { value: c.name, text: c.name, selected: t.dest.partition === c.name })));
  partition.addEventListener("change", () => { t.dest.partition = partition.value; });
  const granularity = el("select", { id: `wz-granularity-${i}` }, ["HOUR", "DAY", "MONTH", "YEAR"].map((g) => el("option", { value: g, text: g, selected: t.dest.granularity === g })));
  granularity.addEventListener("change", () => { t.dest.granularity = granularity.value; });
  const cluster = el("div", { className: "checklist", role: "group", "aria-label": "Cluster columns" });
  cols.forEach((c) => {
    const input = el("input", { type: "checkbox", checked: t.dest.cluster.includes(c.name) });
    input.addEventListener("change", () => {
      t.dest.cluster = input.checked ? [...t.dest.cluster, c.name].slice(0, 4) : t.dest.cluster.filter((n) => n !== c.name);
      input.checked = t.dest.cluster.includes(c.name);
    });
    cluster.append(el("label", {}, input, el("span", { text: c.name })));
  });
  return el("div", { className: "form-grid" },
    el("div", { className: "field" }, el("label", { for: `wz-partition-${i}`, text: "Partition by" }), partition,
      el("p", { className: "error", "data-error-for": `tables.${i}.destination.partition_column` })),
    el("div", { className: "field" }, el("label", { for: `wz-granularity-${i}`, text: "Granularity" }), granularity),
    el("div", { className: "field" }, el("label", { text: "Cluster by (up to 4)" }), cluster,
      el("p", { className: "error", "data-error-for": `tables.${i}.destination.cluster_columns` })));
}

function compatReport(report) {
  const box = el("div", { className: `compat ${report.compatible ? "is-ok" : "is-blocked"}` });
  box.append(el("strong", { text: report.compatible ? "Compatible." : "Not compatible:" }));
  const list = (title, items) => items && items.length && box.append(el("div", { className: "small", text: title }), el("ul", {}, items.map((x) => el("li", { text: x }))));
  list("Blocking", report.blocking_errors);
  list("Columns to add", (report.columns_to_add || []).map((c) => `${c.name} ${c.type}`));
  list("In the destination, not in the source (left empty)", report.missing_columns);
  list("Type changes", (report.type_mismatches || []).map((m) => `${m.name}: ${m.dest_type} ← ${m.source_type} (${m.action})`));
  return box;
}

async function checkCompat(state, t, slot) {
  slot.textContent = "Checking compatibility…";
  try {
    const data = await call("validate_compat", { body: compatRequest(state, t) });
    t.dest.compat = data;
    slot.replaceChildren(compatReport(t.dest.compat));
  } catch (err) {
    t.dest.compat = null;
    slot.replaceChildren(el("p", { className: "error-text", text: err.message }));
  }
}

export function compatRequest(state, t) {
  return {
    model_id: state.projectId,
    dest_dataset: "raw_data",
    dest_table_name: t.dest.existing,
    columns: selectedColumns(t).map((c) => ({ name: c.name, type: typeOf(t, c) })),
  };
}

function existingFields(state, t, i) {
  const select = el("select", { id: `wz-existing-${i}` }, el("option", { value: "", text: "Loading tables…" }));
  const report = el("div", { "aria-live": "polite" });
  loadExisting(state.projectId).then((names) => {
    select.replaceChildren(el("option", { value: "", text: names.length ? "Choose a table…" : "No tables in the warehouse yet" }),
      ...names.map((n) => el("option", { value: n, text: `raw_data.${n}`, selected: t.dest.existing === n })));
    if (t.dest.existing) checkCompat(state, t, report);
  });
  select.addEventListener("change", () => { t.dest.existing = select.value; if (select.value) checkCompat(state, t, report); });
  return el("div", {}, el("div", { className: "field" }, el("label", { for: `wz-existing-${i}`, text: "Existing table" }), select,
    el("p", { className: "error", "data-error-for": `tables.${i}.destination` })), report);
}

export function renderDestinations(state, container) {
  container.textContent = "";
  state.tables.forEach((t, i) => {
    ensureDest(t);
    const box = el("div", { className: "table-config" });
    box.append(el("h3", { text: `${t.isFile ? "Files" : `${t.schema}.${t.name}`} → raw_data.${t.dest.mode === "new" ? t.dest.table : t.dest.existing || "…"}` }));
    const body = el("div");
    const draw = () => {
      if (t.dest.mode === "new") {
        const name = el("input", { id: `wz-dest-${i}`, value: t.dest.table, autocomplete: "off" });
        name.addEventListener("input", () => { t.dest.table = name.value.trim(); });
        body.replaceChildren(el("div", { className: "field" }, el("label", { for: `wz-dest-${i}`, text: "New table name (in raw_data)" }), name,
          el("p", { className: "error", "data-error-for": `tables.${i}.dest_table_name` })), columnsTable(t), layoutFields(t, i));
      } else {
        body.replaceChildren(existingFields(state, t, i));
      }
    };
    const radios = el("div", { className: "row", role: "radiogroup", "aria-label": "Destination" }, ["new", "existing"].map((mode) => {
      const input = el("input", { type: "radio", name: `dest-mode-${i}`, value: mode, checked: t.dest.mode === mode });
      input.addEventListener("change", () => { t.dest.mode = mode; draw(); });
      return el("label", { className: "check" }, input, mode === "new" ? "New table" : "Existing table");
    }));
    box.append(radios, body);
    draw();
    container.append(box);
  });
}

export function destinationPayload(t) {
  const d = t.dest;
  if (d.mode === "existing") return { mode: "existing" };
  return {
    mode: "new",
    columns: selectedColumns(t).map((c) => ({ name: c.name, type: typeOf(t, c), mode: d.required[c.name] ? "REQUIRED" : "NULLABLE" })),
    partition_column: d.partition, partition_granularity: d.partition ? d.granularity : "", cluster_columns: d.cluster,
  };
}

export function destinationProblem(state) {
  for (const t of state.tables) {
    const d = ensureDest(t);
    if (d.mode === "new" && !/^[A-Za-z_][A-Za-z0-9_]{0,127}$/.test(d.table)) return `“${d.table}” is not a legal table name: use letters, digits and underscores.`;
    if (d.mode === "existing" && !d.existing) return "Choose the existing table to load into.";
    if (d.mode === "existing" && d.compat && d.compat.compatible === false) return "The existing table is not compatible: see the report.";
  }
  return "";
}

export function resetExistingCache() {
  existingTables = null;
}
