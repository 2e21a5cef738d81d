// The training page: start a fine-tune run, follow its events, stop it, read the comparison and
// publish. The admin key stays in this tab's sessionStorage and the Authorization header: the event
// stream is read with fetch() and a streaming body reader, not EventSource (which cannot send headers
// and would need the key in the URL).

const $ = (id) => document.getElementById(id);
const KEY = "soroban-review-key";  // shared with the review page
const state = { key: sessionStorage.getItem(KEY) || "", overview: null, run: null, last: 0, losses: [], follow: 0 };
const STATES = {
  training: "training", comparing: "comparing with the current model", compared: "compared",
  publishing: "publishing: export and doctor", published: "published", failed: "failed",
  publish_failed: "publishing failed", interrupted: "interrupted (the server stopped)",
};
const SETS = { heldout: "held-out players' crops", rendered: "rendered columns" };

async function api(path, options = {}) {
  const response = await fetch(path, {
    ...options,
    headers: { Authorization: `Bearer ${state.key}`, "Content-Type": "application/json", ...(options.headers || {}) },
  });
  const doc = await response.json().catch(() => ({}));
  if (!response.ok) {
    const error = new Error(doc.error ? `${doc.error.code}: ${doc.error.message}` : `HTTP ${response.status}`);
    error.code = doc.error?.code;
    throw error;
  }
  return doc;
}

function say(text) { $("message").textContent = text; }

async function loadOverview() {
  const o = await api("/api/training");
  state.overview = o;
  if (!o.enabled) {
    $("overview").textContent = "Training is off on this server (it was started without a runs folder).";
    $("start-button").disabled = true;
    return;
  }
  $("overview").textContent = `Current model: ${o.current}. ` +
    (o.publishing ? "Publishing is on." : "Publishing is off (no publish folder).") +
    ` Doctor runtimes: ${o.doctor_runtimes.join(", ")}.`;
  const form = $("start");
  for (const [name, value] of Object.entries(o.defaults)) {
    const input = form.elements[name];
    if (!input.value) input.value = value;
    input.min = o.ranges[name].low;
    input.max = o.ranges[name].high;
  }
  showRuns(o.runs);
  const latest = o.busy ?? o.runs[0]?.id;
  if (latest !== undefined && state.run?.id !== latest) await open(latest);
}

function showRuns(runs) {
  const list = $("runs");
  list.replaceChildren(...runs.map((r) => {
    const li = document.createElement("li");
    const b = document.createElement("button");
    b.type = "button";
    b.textContent = `run ${r.id}`;
    b.addEventListener("click", () => open(r.id));
    li.append(b, ` ${r.created_at} · ${STATES[r.state] || r.state}` + (r.verdict ? (r.verdict.not_worse ? " · not worse" : " · worse") : ""));
    return li;
  }));
}

async function open(id) {
  const run = await api(`/api/training/runs/${id}`);
  state.run = run;
  state.last = 0;
  state.losses = [];
  $("log").replaceChildren();
  $("progress").dataset.batches = "0";
  $("progress").dataset.epochs = "0";
  $("run").hidden = false;
  $("run-title").textContent = `Run ${run.id} (from ${run.baseline}; ${run.data.train} training crops, ${run.data.heldout} held out)`;
  showRun(run);
  follow(run.id);
}

function showRun(run) {
  state.run = run;
  $("state").textContent = (STATES[run.state] || run.state) + (run.stop_requested ? " · stop requested" : "") +
    (run.error ? ` · ${run.error.code}: ${run.error.message}` : "");
  $("state").dataset.state = run.state;
  $("stop").hidden = run.state !== "training" || run.stop_requested;
  showComparison(run);
}

// Follow a run's events; reconnect with Last-Event-ID until the server says `end`.
async function follow(id) {
  const ticket = ++state.follow;
  for (let attempt = 0; attempt < 30 && ticket === state.follow; attempt++) {
    try {
      const response = await fetch(`/api/training/runs/${id}/events`, {
        headers: { Authorization: `Bearer ${state.key}`, Accept: "text/event-stream", "Last-Event-ID": String(state.last) },
      });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done || ticket !== state.follow) break;
        buffer += value;
        let cut;
        while ((cut = buffer.indexOf("\n\n")) >= 0) {
          const frame = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          if (onFrame(frame) === "end") {
            showRun(await api(`/api/training/runs/${id}`));
            await loadOverview();  // a publish changes the current model
            return;
          }
        }
      }
    } catch (e) {
      say(`event stream: ${e.message}; reconnecting`);
    }
    await new Promise((r) => setTimeout(r, 2000));
  }
}

function onFrame(frame) {
  let kind = "message", data = "";
  for (const line of frame.split("\n")) {
    if (line.startsWith("event: ")) kind = line.slice(7);
    else if (line.startsWith("data: ")) data += line.slice(6);
  }
  if (kind === "end") return "end";
  if (!data) return null;
  const event = JSON.parse(data);
  state.last = event.id;
  onEvent(event);
  return null;
}

function logLine(event, text) {
  const li = document.createElement("li");
  li.dataset.event = event.event;
  li.textContent = text;
  $("log").append(li);
  while ($("log").children.length > 300) $("log").firstChild.remove();
}

function onEvent(e) {
  const progress = $("progress");
  const run = state.run;
  switch (e.event) {
    case "batch":
      progress.dataset.batches = String(Number(progress.dataset.batches) + 1);
      $("bar").value = e.batch;
      $("progress-text").textContent = `epoch ${progress.dataset.epoch || "?"} · batch ${e.batch}/${$("bar").max} · loss ${e.loss.toFixed(4)}`;
      state.losses.push(e.loss);
      drawLoss();
      return;
    case "epoch_start":
      progress.dataset.epoch = `${e.epoch}/${e.epochs}`;
      $("bar").max = e.steps;
      $("bar").value = 0;
      logLine(e, `epoch ${e.epoch}/${e.epochs}: ${e.steps} batches`);
      return;
    case "epoch":
      progress.dataset.epochs = String(e.epoch);
      logLine(e, `epoch ${e.epoch}/${e.epochs}: loss ${e.loss.toFixed(4)}, val_loss ${e.val_loss.toFixed(4)}, ` +
        `val digit accuracy ${e.val.digit_accuracy.toFixed(4)}`);
      return;
    case "dataset_loaded":
      logLine(e, `data: ${e.train} train / ${e.val} validation images`);
      return;
    case "complete":
      logLine(e, `trained: ${e.metrics.epochs_run} epoch(s) in ${e.duration_s} s, val digit accuracy ` +
        `${e.metrics.val.digit_accuracy.toFixed(4)}` + (e.metrics.stopped_by_file ? " (stopped)" : ""));
      return;
    case "status": logLine(e, e.message); return;
    case "evaluated": logLine(e, `${e.model} model on ${SETS[e.set]}: ${e.digit_accuracy.toFixed(4)} (n=${e.n})`); return;
    case "stop_requested": logLine(e, "stop requested: training stops after this batch"); run.stop_requested = true; break;
    case "step": if (e.exit_code !== 0) logLine(e, `${e.step} exited ${e.exit_code}`); return;
    case "error": logLine(e, `error: ${e.message}`); return;
    case "compared": run.comparison = e.comparison; run.verdict = e.verdict; logLine(e, "compared"); break;
    case "doctor": run.doctor = e.doctor; logLine(e, `doctor: ${e.doctor.status}`); break;
    case "published": run.published = e.published; logLine(e, `published as ${e.published.name}`); break;
    case "failed": run.error = e.error; logLine(e, `failed: ${e.error.code}: ${e.error.message}`); break;
    case "run": logLine(e, STATES[e.state] || e.state); break;
    default: return;
  }
  if (e.state) run.state = e.state;
  showRun(run);
}

function drawLoss() {
  const values = state.losses.slice(-400);
  const top = Math.max(...values, 1e-6);
  const step = 400 / Math.max(1, values.length - 1);
  const points = values.map((v, i) => `${(i * step).toFixed(1)},${(78 - (v / top) * 76).toFixed(1)}`);
  $("loss").querySelector("polyline").setAttribute("points", points.join(" "));
}

function cell(text) {
  const td = document.createElement("td");
  td.textContent = text;
  return td;
}

function showComparison(run) {
  const section = $("comparison");
  section.hidden = !run.comparison;
  if (!run.comparison) return;
  const rows = run.verdict.checks.map((c) => {
    const tr = document.createElement("tr");
    tr.dataset.check = c.id;
    tr.className = c.status;
    const pct = (k) => `${c[k]} (${((100 * c[k]) / c.n).toFixed(1)}%)`;
    tr.append(cell(SETS[c.id]), cell(String(c.n)), cell(pct("current_right")), cell(pct("new_right")),
      cell(String(c.allowed_drop)), cell(c.status === "pass" ? "not worse" : "worse"));
    return tr;
  });
  section.querySelector("tbody").replaceChildren(...rows);
  const margin = (100 * run.verdict.rendered_margin).toFixed(0);
  $("verdict").textContent = run.verdict.not_worse
    ? `Not worse: the new model reads at least as many held-out crops right, and at most ${margin}% fewer rendered columns.`
    : `Worse than the current model: it is not published (held-out crops may not drop at all; rendered columns by at most ${margin}%).`;
  $("verdict").className = run.verdict.not_worse ? "pass" : "fail";
  const publishable = run.verdict.not_worse && state.overview?.publishing && ["compared", "publish_failed"].includes(run.state);
  $("publish").disabled = !publishable;
  const doctor = $("doctor");
  doctor.hidden = !run.doctor;
  if (run.doctor) {
    $("doctor-status").textContent = `Doctor: ${run.doctor.status} (runtimes: ${run.doctor.runtimes.map((r) => `${r.id} ${r.status}`).join(", ")})`;
    $("doctor-status").dataset.status = run.doctor.status;
    doctor.querySelector("tbody").replaceChildren(...run.doctor.checks.map((c) => {
      const tr = document.createElement("tr");
      tr.append(cell(c.id), cell(c.status), cell(c.summary));
      return tr;
    }));
  }
  $("published").textContent = run.published ? `Published as ${run.published.name} (${run.published.path}); it is now the current model.` : "";
}

$("start").addEventListener("submit", async (e) => {
  e.preventDefault();
  const body = {};
  for (const input of $("start").querySelectorAll("input")) {
    if (input.value !== "") body[input.name] = Number(input.value);
  }
  try {
    say("");
    const run = await api("/api/training/runs", { method: "POST", body: JSON.stringify(body) });
    await open(run.id);
    await loadOverview();
  } catch (err) {
    say(`could not start: ${err.message}`);
  }
});

$("stop").addEventListener("click", async () => {
  try {
    showRun(await api(`/api/training/runs/${state.run.id}/stop`, { method: "POST", body: "{}" }));
  } catch (err) {
    say(`could not stop: ${err.message}`);
  }
});

$("publish").addEventListener("click", async () => {
  try {
    $("publish").disabled = true;
    showRun(await api(`/api/training/runs/${state.run.id}/publish`, { method: "POST", body: "{}" }));
    follow(state.run.id);
  } catch (err) {
    say(`could not publish: ${err.message}`);
  }
});

$("login").addEventListener("submit", (e) => {
  e.preventDefault();
  state.key = $("key").value.trim();
  sessionStorage.setItem(KEY, state.key);
  loadOverview().catch((err) => say(`could not load: ${err.message}`));
});
$("key").value = state.key;
if (state.key) loadOverview().catch((err) => say(`could not load: ${err.message}`));
