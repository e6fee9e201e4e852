// The ETL job wizard (create and edit): five steps, Back keeps input, server errors land next to their field.
import { call, clearFieldErrors, el, notice, showFieldErrors } from "./api.js";
import { onConnectionSaved } from "./connections.js";
import { destinationPayload, destinationProblem, ensureDest, renderDestinations, resetExistingCache } from "./wizard_dest.js";
import { initSchedule, renderSummary, scheduleConfig, schedulePreview, writeSchedule } from "./wizard_schedule.js";
import { initSource, loadFiles, loadSchemas, readFileOptions, showKind, writeFileOptions } from "./wizard_source.js";
import { loadTablePreview, renderTableConfigs, tablesProblem } from "./wizard_tables.js";

const $ = (id) => document.getElementById(id);
const LAST = 5;
let config = {};
let hooks = {};
let state = null;
let nameTimer = null;

function freshState(projectId) {
  return { projectId, mode: "create", jobId: null, step: 1, name: "", connectionId: "", connectionName: "", isFile: false,
    schema: "", available: [], selected: new Map(), tables: [], file: {}, matchedFiles: [], loadedFor: null, original: null };
}

function connectionInfo(id) {
  const option = $("wz-connection").querySelector(`option[value="${CSS.escape(String(id))}"]`);
  const type = option ? option.dataset.type : "";
  const known = (config.source_types || []).find((t) => t.value === type);
  return { name: option ? option.textContent : "", isFile: Boolean(known && known.file) };
}

function setError(message) {
  const box = $("wizard-error");
  box.textContent = message || "";
  box.hidden = !message;
}

function showStep(step) {
  state.step = step;
  document.querySelectorAll("#wizard .wizard-step").forEach((s) => { s.hidden = Number(s.dataset.step) !== step; });
  document.querySelectorAll("#wizard-steps li").forEach((li) => {
    const n = Number(li.dataset.stepTab);
    li.classList.toggle("is-current", n === step);
    li.classList.toggle("is-done", n < step);
    if (n === step) li.setAttribute("aria-current", "step"); else li.removeAttribute("aria-current");
  });
  $("wizard-back").disabled = step === 1;
  $("wizard-next").hidden = step === LAST;
  $("wizard-submit").hidden = step !== LAST;
  const first = document.querySelector(`#wizard .wizard-step[data-step="${step}"] input:not([type=hidden]), #wizard .wizard-step[data-step="${step}"] select`);
  if (first) first.focus();
}

async function checkName() {
  const status = $("wz-name-status");
  const name = $("wz-name").value.trim();
  if (!name) { status.textContent = ""; return true; }
  if (state.mode === "edit" && state.original && name === state.original.name) { status.textContent = ""; return true; }
  try {
    const body = state.mode === "edit" ? { name, exclude_id: Number(state.jobId) } : { name };
    const data = await call("check_job_name", { body });
    const taken = data.exists === true || data.available === false || data.is_taken === true;
    status.textContent = taken ? "A job with this name already exists in this project." : "Name is available.";
    status.classList.toggle("error-text", taken);
    return !taken;
  } catch (err) {
    status.textContent = err.message;
    return true;
  }
}

function buildTables() {
  if (state.isFile) {
    const file = readFileOptions(state);
    const existing = state.tables.find((t) => t.isFile);
    const key = `${file.prefix}|${file.pattern}|${file.format}|${JSON.stringify(file.options)}`;
    if (existing && existing.key === key) { existing.destTable = file.destTable; return; }
    state.tables = [{ key, isFile: true, name: file.destTable || "files", destTable: file.destTable, loaded: false }];
    return;
  }
  const keep = new Map(state.tables.map((t) => [t.key, t]));
  state.tables = [...state.selected.entries()].map(([key, info]) => keep.get(key) || { key, schema: info.schema, name: info.name, loaded: false });
}

async function validateStep(step) {
  clearFieldErrors($("wizard-form"));
  if (step === 1) {
    state.name = $("wz-name").value.trim();
    state.connectionId = $("wz-connection").value;
    if (!state.name) return showFieldErrors($("wizard-form"), { name: ["Give the job a name."] }) && false;
    if (!state.connectionId) return showFieldErrors($("wizard-form"), { connection_id: ["Choose a connection."] }) && false;
    return checkName();
  }
  if (step === 2) {
    if (state.isFile) {
      const file = readFileOptions(state);
      if (!file.destTable) { showFieldErrors($("wizard-form"), { "tables.0.dest_table_name": ["Name the destination table."] }); return false; }
      if (!state.matchedFiles.length) await loadFiles(state);
      return true;
    }
    if (!state.selected.size) { showFieldErrors($("wizard-form"), { tables: ["Choose at least one table."] }); return false; }
    return true;
  }
  if (step === 3) { const problem = tablesProblem(state); setError(problem); return !problem; }
  if (step === 4) { const problem = destinationProblem(state); setError(problem); return !problem; }
  return true;
}

async function enterStep(step) {
  setError("");
  if (step === 2) {
    const info = connectionInfo(state.connectionId);
    state.isFile = info.isFile;
    state.connectionName = info.name;
    showKind(state.isFile);
    if (state.isFile) { writeFileOptions(state.file); if (!$("wz-file-table").value) $("wz-file-table").value = state.file.destTable || ""; loadFiles(state); }
    else loadSchemas(state);
  }
  if (step === 3) {
    buildTables();
    const container = $("wz-table-configs");
    renderTableConfigs(state, container);
    await Promise.all(state.tables.map((t) => loadTablePreview(state, t)));
    renderTableConfigs(state, container);
  }
  if (step === 4) {
    state.tables.forEach((t) => { ensureDest(t); if (t.isFile && t.destTable) t.dest.table = t.destTable; });
    renderDestinations(state, $("wz-destinations"));
  }
  if (step === 5) { renderSummary(state, $("wz-summary")); schedulePreview(); }
}

function setBusy(busy) {
  ["wizard-next", "wizard-back", "wizard-submit"].forEach((id) => { $(id).disabled = busy; });
  $("wizard-form").setAttribute("aria-busy", busy ? "true" : "false");
}

async function go(step) {
  if (state.busy) return;
  state.busy = true;
  setBusy(true);
  try {
    if (step > state.step) {
      for (let s = state.step; s < step; s += 1) {
        if (!(await validateStep(s))) return;
        if (s + 1 < step) await enterStep(s + 1);
      }
    }
    showStep(step);
    await enterStep(step);
  } finally {
    state.busy = false;
    setBusy(false);
    $("wizard-back").disabled = state.step === 1;
  }
}

function tablePayload(t) {
  const base = { dest_dataset: "raw_data", dest_table_name: t.dest.mode === "new" ? t.dest.table : t.dest.existing,
    sync_mode: t.mode, selected_columns: t.selected.size === t.columns.length ? [] : [...t.selected], destination: destinationPayload(t) };
  if (t.id) base.id = t.id;
  if (t.isFile) {
    return { ...base, is_file_based: true, file_path_prefix: state.file.prefix, file_pattern: state.file.pattern,
      file_format: state.file.format, file_format_options: state.file.options, load_latest_only: state.file.latestOnly };
  }
  const keyed = t.mode === "incremental" || t.mode === "merge";
  return { ...base, schema_name: t.schema, source_table_name: t.name, incremental_column: keyed ? t.cursor : "",
    primary_key: t.mode === "merge" ? [...t.primaryKey] : [], historical_start_date: keyed && t.backfill ? t.backfill : null };
}

function jobPayload() {
  const body = { name: state.name, tables: state.tables.map(tablePayload), schedule_config: scheduleConfig() };
  if (state.mode === "edit") {
    const kept = new Set(state.tables.map((t) => t.id).filter(Boolean));
    body.remove_table_ids = (state.original.tables || []).map((t) => t.id).filter((id) => !kept.has(id));
    body.tables.forEach((t) => { if (t.destination && t.id) delete t.destination; });
    return body;
  }
  return { ...body, connection_id: Number(state.connectionId), is_file_based: state.isFile, run_now: $("wz-run-now").checked };
}

function stepOfField(field) {
  const slot = document.querySelector(`#wizard [data-error-for="${CSS.escape(field)}"]`);
  const section = slot && slot.closest(".wizard-step");
  if (section) return Number(section.dataset.step);
  if (field.startsWith("schedule_config")) return 5;
  if (/^tables\.\d+\.(destination|dest_)/.test(field)) return 4;
  if (field.startsWith("tables")) return 3;
  return 1;
}

async function submit(event) {
  event.preventDefault();
  if (state.step !== LAST) { go(state.step + 1); return; }
  if (state.busy) return;
  const button = $("wizard-submit");
  button.disabled = true;
  setError("");
  try {
    const data = state.mode === "edit"
      ? await call("edit_source", { id: state.jobId, body: jobPayload() })
      : await call("create_job", { body: jobPayload() });
    $("wizard").close();
    const runNote = data.run_id ? ` Run ${data.run_id} started.` : "";
    notice(state.mode === "edit" ? `Job “${state.name}” saved.` : `Job “${data.job_name || state.name}” created.${runNote}`, "ok");
    if (hooks.onSaved) await hooks.onSaved(data);
  } catch (err) {
    const fields = Object.keys(err.errors || {});
    const unmatched = showFieldErrors($("wizard-form"), err.errors);
    const target = fields.length ? Math.min(...fields.map(stepOfField)) : LAST;
    const extra = Object.entries(unmatched).map(([k, v]) => `${k}: ${v}`).join(" · ");
    if (target !== LAST) { showStep(target); }
    setError(`${err.message}${extra ? ` ${extra}` : ""}`);
  } finally {
    button.disabled = false;
  }
}

async function prefillEdit(jobId) {
  const data = await call("get_source", { id: jobId, method: "GET" });
  const job = data.source || data.job || {};
  state.original = job;
  state.name = job.name;
  state.connectionId = String(job.connection_id || "");
  $("wz-name").value = job.name || "";
  $("wz-connection").value = state.connectionId;
  $("wz-connection").disabled = true;
  const tables = job.tables || [];
  const fileTable = tables.find((t) => t.is_file_based);
  if (fileTable) {
    state.file = { prefix: fileTable.file_path_prefix, pattern: fileTable.file_pattern, format: fileTable.file_format,
      options: fileTable.file_format_options || {}, latestOnly: fileTable.load_latest_only, destTable: fileTable.dest_table_name };
  }
  tables.filter((t) => !t.is_file_based).forEach((t) => {
    const key = `${t.schema_name}.${t.source_table_name}`;
    state.selected.set(key, { schema: t.schema_name, name: t.source_table_name });
    state.schema = state.schema || t.schema_name;
  });
  state.tables = tables.map((t) => ({ id: t.id, key: t.is_file_based ? null : `${t.schema_name}.${t.source_table_name}`,
    isFile: t.is_file_based, schema: t.schema_name, name: t.source_table_name || t.dest_table_name, loaded: false,
    mode: t.sync_mode, cursor: t.incremental_column, primaryKey: new Set(t.primary_key || []), backfill: t.historical_start_date || "",
    selected: t.selected_columns && t.selected_columns.length ? new Set(t.selected_columns) : null,
    dest: { mode: "existing", existing: t.dest_table_name, table: t.dest_table_name, types: {}, required: {}, partition: t.partition_column || "", granularity: t.partition_granularity || "DAY", cluster: t.cluster_columns || [], compat: null } }));
  writeSchedule(job);
}

export async function openWizard({ jobId = null } = {}) {
  state = freshState(config.project_id);
  $("wizard-form").reset();
  clearFieldErrors($("wizard-form"));
  setError("");
  resetExistingCache();
  $("wz-name-status").textContent = "";
  $("wz-connection").disabled = false;
  $("wz-tables").textContent = "";
  $("wz-files").textContent = "";
  $("wz-run-now").closest("label").hidden = Boolean(jobId);
  writeSchedule({});
  $("wizard-title").textContent = jobId ? "Edit ETL job" : "New ETL job";
  $("wizard-submit").textContent = jobId ? "Save changes" : "Create job";
  if (!$("wizard").open) $("wizard").showModal();
  if (jobId) {
    state.mode = "edit";
    state.jobId = jobId;
    try { await prefillEdit(jobId); } catch (err) { setError(err.message); }
  }
  showStep(1);
}

export function initWizard(pageConfig, pageHooks) {
  config = pageConfig;
  hooks = pageHooks;
  state = freshState(config.project_id);
  initSource(proxyState());
  initSchedule(() => { if (state.step === LAST) renderSummary(state, $("wz-summary")); });
  $("wizard-form").addEventListener("submit", submit);
  $("wizard-next").addEventListener("click", () => go(state.step + 1));
  $("wizard-back").addEventListener("click", () => go(Math.max(1, state.step - 1)));
  $("wz-name").addEventListener("input", () => { clearTimeout(nameTimer); nameTimer = setTimeout(checkName, 400); });
  $("wz-connection").addEventListener("change", () => { state.selected.clear(); state.tables = []; state.loadedFor = null; state.matchedFiles = []; });
  document.querySelectorAll("#wizard-steps li").forEach((li) => {
    li.addEventListener("click", () => { const n = Number(li.dataset.stepTab); if (n < state.step) go(n); });
  });
  onConnectionSaved((saved, back) => {
    const select = $("wz-connection");
    if (!select.querySelector(`option[value="${CSS.escape(String(saved.id))}"]`)) {
      select.append(el("option", { value: String(saved.id), text: saved.name, "data-type": saved.type }));
    }
    if (back === "wizard") { select.value = String(saved.id); select.dispatchEvent(new Event("change")); }
  });
}

// initSource's listeners must always see the current state object, which openWizard replaces.
function proxyState() {
  return new Proxy({}, { get: (_, key) => state[key], set: (_, key, value) => { state[key] = value; return true; } });
}
