// ETL page entry point: job actions, and wiring of the runs table, charts, connections and the wizard.
import { call, confirmAction, fragment, localTimes, notice, readJson } from "./api.js";
import { initCharts } from "./charts.js";
import { initConnections } from "./connections.js";
import { initRuns, refreshRuns } from "./runs.js";
import { openWizard, initWizard } from "./wizard.js";

const CONFIG = readJson("etl-config");

export async function refreshJobs() {
  const panel = document.getElementById("jobs-panel");
  try {
    panel.innerHTML = await fragment("runs_fragment", { part: "jobs" });
    localTimes(panel);
  } catch (err) {
    notice(err.message, "error");
  }
}

function jobOf(button) {
  const row = button.closest("[data-job-id]");
  return { id: row.dataset.jobId, name: row.dataset.jobName };
}

async function startRun(job, body, label) {
  try {
    const data = await call("run_source", { id: job.id, body });
    notice(`${label} started for “${job.name}” (run ${data.run_id ?? "?"}).`, "ok");
  } catch (err) {
    const active = err.data && (err.data.run_id || err.data.active_run_id);
    notice(active ? `“${job.name}” is already running (run ${active}).` : err.message, "error");
  }
  await Promise.all([refreshJobs(), refreshRuns()]);
}

async function togglePause(job, button) {
  try {
    const data = await call("toggle_pause", { id: job.id, body: {} });
    const paused = data.is_paused ?? data.paused;
    notice(`“${job.name}” is now ${paused === undefined ? "updated" : paused ? "paused" : "resumed"}.`, "ok");
  } catch (err) {
    notice(err.message, "error");
  }
  button.closest("details")?.removeAttribute("open");
  await refreshJobs();
}

async function deleteJob(job) {
  const answer = await confirmAction({
    title: `Delete “${job.name}”?`,
    message: "The job and its schedule are removed. The warehouse tables it loaded stay.",
    confirmLabel: "Delete job",
    option: { label: "Keep the run history", checked: true },
  });
  if (!answer.ok) return;
  try {
    await call("delete_source", { id: job.id, body: { delete_runs: !answer.option } });
    notice(`“${job.name}” was deleted.`, "ok");
    await Promise.all([refreshJobs(), refreshRuns()]);
  } catch (err) {
    notice(err.message, "error");
  }
}

async function fullRefresh(job) {
  const answer = await confirmAction({
    title: `Full refresh of “${job.name}”?`,
    message: "Cursors and the file ledger are reset and every table is reloaded from the start.",
    confirmLabel: "Reload everything",
  });
  if (answer.ok) await startRun(job, { full_refresh: true }, "Full refresh");
}

function onJobAction(event) {
  const button = event.target.closest("[data-job-action]");
  if (!button || button.disabled) return;
  const job = jobOf(button);
  const action = button.dataset.jobAction;
  button.closest("details")?.removeAttribute("open");
  if (action === "run") startRun(job, {}, "Run");
  else if (action === "pause") togglePause(job, button);
  else if (action === "edit") openWizard({ jobId: job.id });
  else if (action === "rerun") startRun(job, { tables: [Number(button.dataset.tableId)] }, "Rerun");
  else if (action === "refresh") fullRefresh(job);
  else if (action === "delete") deleteJob(job);
}

function onOpen(event) {
  const trigger = event.target.closest("[data-open]");
  if (!trigger) return;
  if (trigger.dataset.open === "wizard-new") openWizard({});
}

function closeMenusOnOutsideClick(event) {
  document.querySelectorAll("details.menu[open]").forEach((menu) => {
    if (!menu.contains(event.target)) menu.removeAttribute("open");
  });
}

function init() {
  localTimes();
  document.getElementById("jobs-panel").addEventListener("click", onJobAction);
  document.addEventListener("click", onOpen);
  document.addEventListener("click", closeMenusOnOutsideClick);
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape") document.querySelectorAll("details.menu[open]").forEach((m) => m.removeAttribute("open"));
  });
  initConnections(CONFIG);
  initRuns({ onRunFinished: refreshJobs });
  initCharts(readJson("etl-charts"));
  initWizard(CONFIG, { onSaved: async () => { await Promise.all([refreshJobs(), refreshRuns()]); } });
}

init();
