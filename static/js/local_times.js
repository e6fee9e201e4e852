// Pages without other scripts: show <time class="js-local-time"> values in the browser's time zone.
const fmt = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
document.querySelectorAll("time.js-local-time").forEach((node) => {
  const when = new Date(node.getAttribute("datetime"));
  if (!Number.isNaN(when.getTime())) node.textContent = fmt.format(when);
});
