// Wizard step 3: per table, columns (select all / search), load mode, cursor and key (preselected), backfill, preview.
import { el } from "./api.js";
import { browse } from "./wizard_source.js";

const MODES = {
  replace: "Reload the whole table on every run and swap it in: simple and always exact.",
  append: "Add every row read on each run; nothing is updated or deleted.",
  incremental: "Read only rows whose cursor column grew since the last run, and append them.",
  merge: "Read changed rows by cursor and upsert them by primary key: no duplicates.",
};
const TEMPORAL = ["TIMESTAMP", "DATETIME", "DATE"];
const ORDERABLE = [...TEMPORAL, "INT64", "NUMERIC", "FLOAT64", "STRING"];

export function warehouseType(column) {
  return (column.bigquery_type || column.warehouse_type || column.type || "STRING").toUpperCase();
}

function normaliseColumns(data) {
  return (data.columns || data.schema || []).map((c) => (typeof c === "string" ? { name: c, bigquery_type: "STRING" } : c));
}

function defaultMode(t) {
  if (t.isFile) return "append";
  if (t.recommendedCursor && t.recommendedPk.length) return "merge";
  return t.recommendedCursor ? "incremental" : "replace";
}

export async function loadTablePreview(state, t) {
  if (t.loaded) return;
  try {
    let data;
    if (t.isFile) {
      const newest = (state.matchedFiles || [])[0];
      if (!newest) throw new Error("No matching file to read a sample from: check the prefix and pattern.");
      data = await browse("detect_file_schema", state.connectionId, {
        path: newest.path || newest.name, file_format: state.file.format,
        ...(state.file.format === "csv" ? { delimiter: state.file.options.delimiter, has_header: state.file.options.has_header,
          encoding: state.file.options.encoding } : {}) });
    } else {
      data = await browse("fetch_preview", state.connectionId, { schema: t.schema, table: t.name });
    }
    t.columns = normaliseColumns(data);
    t.sample = data.sample_rows || data.rows || [];
    t.recommendedCursor = data.recommended_cursor_column || "";
    t.recommendedPk = data.primary_key || t.columns.filter((c) => c.primary_key).map((c) => c.name);
    t.loaded = true;
    t.error = "";
    applyDefaults(t);
  } catch (err) {
    t.error = err.message;
  }
}

function applyDefaults(t) {
  const names = t.columns.map((c) => c.name);
  if (!t.selected) t.selected = new Set(names);
  else t.selected = new Set([...t.selected].filter((n) => names.includes(n)));
  if (!t.selected.size) t.selected = new Set(names);
  t.mode = t.mode || defaultMode(t);
  t.cursor = t.cursor || t.recommendedCursor || "";
  t.primaryKey = t.primaryKey && t.primaryKey.size ? t.primaryKey : new Set(t.recommendedPk);
}

function columnChecklist(t, i) {
  const box = el("div", { className: "checklist columns", role: "group", "aria-label": `Columns of ${t.name}` });
  const search = el("input", { type: "search", placeholder: "Search columns", "aria-label": `Search columns of ${t.name}` });
  const render = () => {
    box.textContent = "";
    const q = search.value.trim().toLowerCase();
    t.columns.filter((c) => !q || c.name.toLowerCase().includes(q)).forEach((c) => {
      const input = el("input", { type: "checkbox", checked: t.selected.has(c.name) });
      input.addEventListener("change", () => { input.checked ? t.selected.add(c.name) : t.selected.delete(c.name); renderPreview(t, i); });
      box.append(el("label", {}, input, el("span", { text: c.name }), el("span", { className: "meta", text: warehouseType(c) })));
    });
  };
  search.addEventListener("input", render);
  const all = el("button", { type: "button", className: "btn btn-small", text: "Select all" });
  const none = el("button", { type: "button", className: "btn btn-small", text: "Select none" });
  all.addEventListener("click", () => { t.columns.forEach((c) => t.selected.add(c.name)); render(); renderPreview(t, i); });
  none.addEventListener("click", () => { t.selected.clear(); render(); renderPreview(t, i); });
  render();
  return el("div", { className: "field" }, el("label", { text: "Columns" }),
    el("div", { className: "row" }, search, all, none), box,
    el("p", { className: "error", "data-error-for": `tables.${i}.selected_columns` }));
}

function modeChooser(t, i, onChange) {
  const modes = t.isFile ? ["append", "replace"] : Object.keys(MODES);
  const group = el("div", { className: "modes", role: "radiogroup", "aria-label": `Load mode of ${t.name}` });
  modes.forEach((mode) => {
    const input = el("input", { type: "radio", name: `mode-${i}`, value: mode, checked: t.mode === mode });
    input.addEventListener("change", () => { t.mode = mode; onChange(); });
    group.append(el("label", {}, input, el("span", {}, el("strong", { text: mode }), el("span", { className: "small muted", text: MODES[mode] }))));
  });
  return el("div", { className: "field" }, el("label", { text: "Load mode" }), group,
    el("p", { className: "error", "data-error-for": `tables.${i}.sync_mode` }),
    el("p", { className: "error", "data-error-for": `tables.${i}` }));
}

function cursorFields(t, i) {
  const wrap = el("div", { className: "form-grid" });
  const needsCursor = t.mode === "incremental" || t.mode === "merge";
  if (!needsCursor || t.isFile) return wrap;
  const select = el("select", { id: `wz-cursor-${i}` }, el("option", { value: "", text: "Choose a column…" }));
  t.columns.filter((c) => ORDERABLE.includes(warehouseType(c))).forEach((c) => {
    const label = c.name === t.recommendedCursor ? `${c.name} (recommended)` : c.name;
    select.append(el("option", { value: c.name, text: `${label} · ${warehouseType(c)}`, selected: t.cursor === c.name }));
  });
  select.addEventListener("change", () => { t.cursor = select.value; });
  wrap.append(el("div", { className: "field" }, el("label", { for: `wz-cursor-${i}`, text: "Cursor column" }), select,
    el("p", { className: "help", text: "Rows past the last value seen are read on the next run." }),
    el("p", { className: "error", "data-error-for": `tables.${i}.incremental_column` })));
  const backfill = el("input", { type: "date", id: `wz-backfill-${i}`, value: t.backfill || "" });
  backfill.addEventListener("change", () => { t.backfill = backfill.value; });
  wrap.append(el("div", { className: "field" }, el("label", { for: `wz-backfill-${i}`, text: "First run: load rows from" }), backfill,
    el("p", { className: "help", text: "Empty loads the whole history on the first run." }),
    el("p", { className: "error", "data-error-for": `tables.${i}.historical_start_date` })));
  if (t.mode === "merge") {
    const keys = el("div", { className: "checklist keys", role: "group", "aria-label": "Primary key" });
    t.columns.forEach((c) => {
      const input = el("input", { type: "checkbox", checked: t.primaryKey.has(c.name) });
      input.addEventListener("change", () => { input.checked ? t.primaryKey.add(c.name) : t.primaryKey.delete(c.name); });
      keys.append(el("label", {}, input, el("span", { text: c.name }), c.primary_key ? el("span", { className: "meta", text: "source key" }) : null));
    });
    wrap.append(el("div", { className: "field wide-field" }, el("label", { text: "Primary key" }), keys,
      el("p", { className: "error", "data-error-for": `tables.${i}.primary_key` })));
  }
  return wrap;
}

function renderPreview(t, i) {
  const holder = document.getElementById(`wz-preview-${i}`);
  if (!holder) return;
  holder.textContent = "";
  const cols = t.columns.filter((c) => t.selected.has(c.name));
  if (!cols.length) { holder.append(el("p", { className: "muted small", text: "Choose at least one column." })); return; }
  const head = el("tr", {}, cols.map((c) => el("th", {}, c.name, el("span", { text: warehouseType(c) }))));
  const rows = (t.sample || []).slice(0, 20).map((row) => el("tr", {}, cols.map((c) => {
    const value = Array.isArray(row) ? row[t.columns.indexOf(c)] : row[c.name];
    return el("td", { text: value === null || value === undefined ? "∅" : typeof value === "object" ? JSON.stringify(value) : String(value) });
  })));
  holder.append(el("table", { className: "table" }, el("thead", {}, head), el("tbody", {}, rows)));
  if (!rows.length) holder.append(el("p", { className: "muted small", text: "The source returned no sample rows." }));
}

export function renderTableConfigs(state, container) {
  container.textContent = "";
  state.tables.forEach((t, i) => {
    const box = el("div", { className: "table-config", "data-table-index": String(i) });
    box.append(el("h3", { text: t.isFile ? `Files ${state.file.prefix}${state.file.pattern}` : `${t.schema}.${t.name}` }));
    if (t.error || !t.loaded) {
      box.append(el("p", { className: "error-text", text: t.error || "Loading columns…" }));
      container.append(box);
      return;
    }
    const cursorSlot = el("div");
    const redraw = () => { cursorSlot.replaceChildren(cursorFields(t, i)); };
    box.append(columnChecklist(t, i), modeChooser(t, i, redraw), cursorSlot,
      el("h4", { className: "small-head", text: "Preview: 20 rows as they will land" }),
      el("div", { className: "preview-wrap", id: `wz-preview-${i}` }));
    redraw();
    container.append(box);
    renderPreview(t, i);
  });
}

export function tablesProblem(state) {
  for (const t of state.tables) {
    if (t.error) return `${t.name}: ${t.error}`;
    if (!t.loaded) return "Columns are still loading.";
    if (!t.selected.size) return `${t.name}: choose at least one column.`;
    if ((t.mode === "incremental" || t.mode === "merge") && !t.isFile && !t.cursor) return `${t.name}: choose a cursor column.`;
    if (t.mode === "merge" && !t.primaryKey.size) return `${t.name}: choose the primary key for merge.`;
  }
  return "";
}
