// Wizard step 2: database schemas and tables (with estimated rows), or file prefix/pattern/format with live matches.
import { call, el, formatNumber } from "./api.js";

const $ = (id) => document.getElementById(id);
let filesTimer = null;

// Browse endpoints: GET with query parameters; fall back to POST with a JSON body for POST-only routes.
export async function browse(key, id, params) {
  try {
    return await call(key, { id, method: "GET", query: params });
  } catch (err) {
    if (err.status === 405) return call(key, { id, body: params });
    throw err;
  }
}

function tableName(item) {
  return typeof item === "string" ? item : item.name || item.table_name;
}

function schemaName(item) {
  return typeof item === "string" ? item : item.name || item.schema_name;
}

export function showKind(isFile) {
  document.querySelector("[data-source-kind=database]").hidden = isFile;
  document.querySelector("[data-source-kind=files]").hidden = !isFile;
}

export async function loadSchemas(state) {
  const select = $("wz-schema");
  const status = $("wz-tables-status");
  if (state.loadedFor === state.connectionId) return;
  state.loadedFor = state.connectionId;
  select.textContent = "";
  status.textContent = "Loading schemas…";
  try {
    const data = await browse("fetch_schemas", state.connectionId, {});
    const schemas = (data.schemas || []).map(schemaName);
    schemas.forEach((name) => select.append(el("option", { value: name, text: name })));
    const preferred = state.schema && schemas.includes(state.schema) ? state.schema
      : (schemas.includes("public") ? "public" : schemas.includes("main") ? "main" : schemas[0]);
    if (preferred) select.value = preferred;
    await loadTables(state);
  } catch (err) {
    state.loadedFor = null;
    status.textContent = err.message;
  }
}

export async function loadTables(state) {
  const box = $("wz-tables");
  const status = $("wz-tables-status");
  state.schema = $("wz-schema").value;
  box.textContent = "";
  if (!state.schema) { status.textContent = "This source has no schemas."; return; }
  status.textContent = "Loading tables…";
  try {
    const data = await browse("fetch_tables", state.connectionId, { schema: state.schema });
    state.available = (data.tables || []).map((t) => ({ name: tableName(t),
      rows: t.estimated_rows ?? t.row_count ?? null, type: t.type || "table" }));
    renderTables(state);
    status.textContent = `${state.available.length} table${state.available.length === 1 ? "" : "s"} in ${state.schema}.`;
  } catch (err) {
    status.textContent = err.message;
  }
}

export function renderTables(state) {
  const box = $("wz-tables");
  const filter = $("wz-table-search").value.trim().toLowerCase();
  box.textContent = "";
  state.available.filter((t) => !filter || t.name.toLowerCase().includes(filter)).forEach((table) => {
    const key = `${state.schema}.${table.name}`;
    const input = el("input", { type: "checkbox", value: table.name, checked: state.selected.has(key) });
    input.addEventListener("change", () => {
      if (input.checked) state.selected.set(key, { schema: state.schema, name: table.name, rows: table.rows });
      else state.selected.delete(key);
    });
    const rows = table.rows === null ? "rows unknown" : `≈ ${formatNumber(table.rows)} rows`;
    box.append(el("label", {}, input, el("span", { text: table.name }),
      table.type !== "table" ? el("span", { className: "badge", text: table.type }) : null,
      el("span", { className: "meta", text: rows })));
  });
  if (!box.children.length) box.append(el("p", { className: "muted small", text: "No tables match." }));
}

export function readFileOptions(state) {
  state.file = {
    prefix: $("wz-prefix").value.trim(),
    pattern: $("wz-pattern").value.trim() || "*",
    format: $("wz-format").value,
    options: { delimiter: $("wz-delimiter").value, encoding: $("wz-encoding").value,
      has_header: $("wz-has-header").checked, compression: $("wz-compression").value },
    latestOnly: $("wz-latest-only").checked,
    destTable: $("wz-file-table").value.trim(),
  };
  $("wz-csv-options").hidden = state.file.format !== "csv";
  return state.file;
}

export function writeFileOptions(file) {
  $("wz-prefix").value = file.prefix || "";
  $("wz-pattern").value = file.pattern || "*.csv";
  $("wz-format").value = file.format || "csv";
  const options = file.options || {};
  $("wz-delimiter").value = options.delimiter || ",";
  $("wz-encoding").value = options.encoding || "utf-8";
  $("wz-has-header").checked = options.has_header !== false;
  $("wz-compression").value = options.compression || "infer";
  $("wz-latest-only").checked = Boolean(file.latestOnly);
  $("wz-file-table").value = file.destTable || "";
  $("wz-csv-options").hidden = (file.format || "csv") !== "csv";
}

function fileRow(file) {
  const when = file.modified || file.modified_at || file.updated;
  return el("tr", {}, el("td", {}, el("code", { text: file.path || file.name })),
    el("td", { className: "right", text: file.size == null ? "" : `${formatNumber(file.size)} B` }),
    el("td", { text: when ? new Date(when).toLocaleString() : "" }));
}

export async function loadFiles(state) {
  const box = $("wz-files");
  const file = readFileOptions(state);
  box.textContent = "Looking for files…";
  try {
    const data = await browse("list_files", state.connectionId, { prefix: file.prefix, pattern: file.pattern, page: 1 });
    const files = data.files || [];
    state.matchedFiles = files;
    box.textContent = "";
    if (!files.length) {
      box.append(el("p", { className: "muted small", text: "No file matches this prefix and pattern yet." }));
      return;
    }
    const total = data.total ?? files.length;
    box.append(el("p", { className: "small muted", text: `${formatNumber(total)} matching file${total === 1 ? "" : "s"}, newest first.` }),
      el("table", { className: "table" }, el("tbody", {}, files.slice(0, 50).map(fileRow))));
  } catch (err) {
    box.textContent = err.message;
  }
}

export function scheduleFileRefresh(state) {
  clearTimeout(filesTimer);
  filesTimer = setTimeout(() => loadFiles(state), 350);
}

export function initSource(state) {
  $("wz-schema").addEventListener("change", () => loadTables(state));
  $("wz-table-search").addEventListener("input", () => renderTables(state));
  ["wz-prefix", "wz-pattern"].forEach((id) => $(id).addEventListener("input", () => scheduleFileRefresh(state)));
  ["wz-format", "wz-delimiter", "wz-encoding", "wz-has-header", "wz-compression", "wz-latest-only"].forEach((id) => {
    $(id).addEventListener("change", () => readFileOptions(state));
  });
}
