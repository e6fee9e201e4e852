// Wizard step 5: schedule presets or cron, time zone (default: the browser's), next runs from the preview API, summary.
import { call, el } from "./api.js";

const $ = (id) => document.getElementById(id);
let previewTimer = null;
let previewSeq = 0;

export function browserZone() {
  try { return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC"; } catch (err) { return "UTC"; }
}

function fillZones() {
  const select = $("wz-timezone");
  if (select.options.length) return;
  let zones = ["UTC"];
  try { zones = Intl.supportedValuesOf("timeZone"); } catch (err) { /* older browsers: UTC only */ }
  if (!zones.includes("UTC")) zones = ["UTC", ...zones];
  zones.forEach((zone) => select.append(el("option", { value: zone, text: zone })));
  select.value = browserZone();
}

export function scheduleConfig() {
  const type = $("wz-schedule-type").value;
  const config = { schedule_type: type, schedule_timezone: $("wz-timezone").value || "UTC" };
  if (type === "hourly") config.schedule_minute = Number($("wz-minute").value || 0);
  if (["daily", "weekly", "monthly"].includes(type)) config.schedule_time = $("wz-time").value || "00:00";
  if (type === "weekly") config.schedule_day_of_week = Number($("wz-weekday").value);
  if (type === "monthly") config.schedule_day_of_month = Number($("wz-monthday").value || 1);
  if (type === "cron") config.cron = $("wz-cron").value.trim();
  return config;
}

export function writeSchedule(job) {
  fillZones();
  $("wz-schedule-type").value = job.schedule_type || "manual";
  $("wz-timezone").value = job.schedule_timezone || browserZone();
  if (job.schedule_minute !== null && job.schedule_minute !== undefined) $("wz-minute").value = job.schedule_minute;
  if (job.schedule_time) $("wz-time").value = String(job.schedule_time).slice(0, 5);
  if (job.schedule_day_of_week !== null && job.schedule_day_of_week !== undefined) $("wz-weekday").value = job.schedule_day_of_week;
  if (job.schedule_day_of_month) $("wz-monthday").value = job.schedule_day_of_month;
  $("wz-cron").value = job.schedule_type === "cron" ? job.schedule_cron || "" : "";
  showScheduleFields();
}

function showScheduleFields() {
  const type = $("wz-schedule-type").value;
  document.querySelectorAll("[data-schedule]").forEach((field) => {
    field.hidden = !field.dataset.schedule.split(" ").includes(type);
  });
}

async function refreshPreview() {
  const box = $("wz-next-runs");
  const config = scheduleConfig();
  const seq = ++previewSeq;
  if (config.schedule_type === "manual") {
    box.replaceChildren(el("strong", { text: "Manual: " }), "runs only when you press Run now.");
    return;
  }
  box.textContent = "Computing the next runs…";
  try {
    const data = await call("schedule_preview", { body: config });
    if (seq !== previewSeq) return;
    const schedule = data.schedule || data;
    const fmt = new Intl.DateTimeFormat(undefined, { dateStyle: "full", timeStyle: "short", timeZone: config.schedule_timezone });
    const items = (schedule.next_runs || []).map((run) => {
      const when = new Date(run.utc || run.local || run);
      return el("li", { text: `${fmt.format(when)} (${config.schedule_timezone}) · ${when.toISOString().slice(0, 16).replace("T", " ")} UTC` });
    });
    box.replaceChildren(el("strong", { text: schedule.description || "" }), el("div", { className: "small muted", text: "Next 5 runs:" }), el("ol", {}, items));
    document.querySelectorAll("#wizard [data-error-for^='schedule_config']").forEach((slot) => { slot.textContent = ""; });
  } catch (err) {
    if (seq !== previewSeq) return;
    box.replaceChildren(el("span", { className: "error-text", text: err.message }));
    Object.entries(err.errors || {}).forEach(([field, messages]) => {
      const key = field.startsWith("schedule_config.") ? field : `schedule_config.${field}`;
      const slot = document.querySelector(`#wizard [data-error-for="${CSS.escape(key)}"]`);
      if (slot) slot.textContent = [].concat(messages).join(" ");
    });
  }
}

export function schedulePreview() {
  clearTimeout(previewTimer);
  previewTimer = setTimeout(refreshPreview, 250);
}

export function renderSummary(state, container) {
  const rows = [["Job", state.name], ["Connection", state.connectionName]];
  state.tables.forEach((t) => {
    const dest = t.dest.mode === "new" ? t.dest.table : t.dest.existing;
    const source = t.isFile ? `${state.file.prefix}${state.file.pattern} (${state.file.format})` : `${t.schema}.${t.name}`;
    let how = t.mode;
    if (t.mode === "incremental" || t.mode === "merge") how += ` on ${t.cursor}`;
    if (t.mode === "merge") how += `, key ${[...t.primaryKey].join(", ")}`;
    rows.push([source, `→ raw_data.${dest} · ${how} · ${t.selected.size} of ${t.columns.length} columns${t.dest.mode === "new" ? " · new table" : ""}`]);
  });
  const config = scheduleConfig();
  rows.push(["Schedule", `${config.schedule_type} (${config.schedule_timezone})`]);
  container.replaceChildren(el("dl", {}, rows.flatMap(([k, v]) => [el("dt", { text: k }), el("dd", { text: v })])));
}

export function initSchedule(onChange) {
  fillZones();
  showScheduleFields();
  ["wz-schedule-type", "wz-minute", "wz-time", "wz-weekday", "wz-monthday", "wz-cron", "wz-timezone"].forEach((id) => {
    $(id).addEventListener(id === "wz-cron" ? "input" : "change", () => { showScheduleFields(); schedulePreview(); onChange(); });
  });
}
