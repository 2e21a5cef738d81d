// The review page: the admin key goes only into this tab's sessionStorage and the Authorization
// header; crop images are fetched with it and shown as blob URLs.

const $ = (id) => document.getElementById(id);
const state = { key: sessionStorage.getItem("soroban-review-key") || "", crops: [], selected: 0 };
const STATUS_WORDS = { needs_review: "needs review", unreviewed: "unreviewed", accepted: "accepted", rejected: "rejected" };

async function api(path, options = {}) {
  const response = await fetch(path, {
    ...options,
    headers: { Authorization: `Bearer ${state.key}`, "Content-Type": "application/json", ...(options.headers || {}) },
  });
  if (!response.ok) {
    const doc = await response.json().catch(() => ({}));
    throw new Error(doc.error ? `${doc.error.code}: ${doc.error.message}` : `HTTP ${response.status}`);
  }
  return response.headers.get("Content-Type")?.includes("json") ? response.json() : response.blob();
}

function say(text) { $("message").textContent = text; }

async function load() {
  say("");
  const status = $("status").value;
  const statuses = status === "todo" ? ["needs_review", "unreviewed"] : [status];
  try {
    const lists = await Promise.all(statuses.map((s) => api(`/api/review/crops?status=${s}&limit=500`)));
    state.crops = lists.flatMap((doc) => doc.crops);
    const summary = await api("/api/review/summary");
    const s = summary.by_status;
    $("summary").textContent = `${summary.crops} crops: ${s.needs_review} need review, ${s.unreviewed} unreviewed, ` +
      `${s.accepted} accepted, ${s.rejected} rejected · model ${summary.model.name} ${summary.model.sha256.slice(0, 12)}`;
  } catch (e) {
    say(`could not load: ${e.message}`);
    return;
  }
  state.selected = 0;
  render();
}

function render() {
  const main = $("groups");
  main.replaceChildren();
  let group = null, groupKey = "";
  state.crops.forEach((crop, i) => {
    const key = `${crop.status}/${crop.label}`;
    if (key !== groupKey) {
      groupKey = key;
      const h = document.createElement("h2");
      h.textContent = `${STATUS_WORDS[crop.status]} · labelled ${crop.label}`;
      group = document.createElement("div");
      group.className = "cards";
      main.append(h, group);
    }
    group.append(card(crop, i));
  });
  if (!state.crops.length) main.textContent = "Nothing here.";
  select(state.selected);
}

function card(crop, i) {
  const div = document.createElement("div");
  div.className = `card ${crop.status}`;
  div.dataset.id = crop.id;
  div.dataset.index = i;
  const img = document.createElement("img");
  img.alt = `crop ${crop.id}`;
  api(crop.image).then((blob) => { img.src = URL.createObjectURL(blob); }).catch(() => {});
  const facts = document.createElement("div");
  facts.className = "facts";
  const disagree = crop.model.digit !== crop.label;
  const label = document.createElement("div");
  label.textContent = `label ${crop.label}` + (crop.submitted_label !== crop.label ? ` (sent ${crop.submitted_label})` : "");
  label.className = "label";
  const model = document.createElement("div");
  model.className = `model${disagree ? " disagree" : ""}`;
  model.textContent = `model reads ${crop.model.digit} (${crop.model.confidence.toFixed(2)})`;
  facts.append(label, model);
  const actions = document.createElement("div");
  actions.className = "actions";
  for (const [name, text] of [["accept", "Accept (a)"], ["reject", "Reject (x)"]]) {
    const b = document.createElement("button");
    b.type = "button";
    b.textContent = text;
    b.addEventListener("click", () => { select(i); act(name); });
    actions.append(b);
  }
  div.append(img, facts, actions);
  div.addEventListener("click", () => select(i));
  return div;
}

function select(i) {
  if (!state.crops.length) return;
  state.selected = Math.max(0, Math.min(state.crops.length - 1, i));
  document.querySelectorAll(".card.selected").forEach((c) => c.classList.remove("selected"));
  const el = document.querySelector(`.card[data-index="${state.selected}"]`);
  el?.classList.add("selected");
  el?.scrollIntoView({ block: "nearest" });
}

async function act(action, label) {
  const crop = state.crops[state.selected];
  if (!crop) return;
  const body = action === "relabel" ? { action, label } : { action };
  try {
    const updated = await api(`/api/review/crops/${crop.id}`, { method: "POST", body: JSON.stringify(body) });
    Object.assign(crop, updated);
    const el = document.querySelector(`.card[data-index="${state.selected}"]`);
    el.className = `card ${crop.status}`;
    el.querySelector(".label").textContent = `label ${crop.label}` +
      (crop.submitted_label !== crop.label ? ` (sent ${crop.submitted_label})` : "");
    el.querySelector(".model").classList.toggle("disagree", crop.model.digit !== crop.label);
    say(`crop ${crop.id}: ${STATUS_WORDS[crop.status]}, label ${crop.label}`);
    select(state.selected + 1);
  } catch (e) {
    say(`could not ${action} crop ${crop.id}: ${e.message}`);
  }
}

document.addEventListener("keydown", (e) => {
  if (e.target instanceof HTMLInputElement || e.target instanceof HTMLSelectElement || e.ctrlKey || e.metaKey || e.altKey) return;
  if (e.key === "j" || e.key === "ArrowRight") select(state.selected + 1);
  else if (e.key === "k" || e.key === "ArrowLeft") select(state.selected - 1);
  else if (e.key === "a") act("accept");
  else if (e.key === "x") act("reject");
  else if (/^[0-9]$/.test(e.key)) act("relabel", Number(e.key));
  else return;
  e.preventDefault();
});

$("login").addEventListener("submit", (e) => {
  e.preventDefault();
  state.key = $("key").value.trim();
  sessionStorage.setItem("soroban-review-key", state.key);
  document.activeElement?.blur();
  load();
});
$("key").value = state.key;
if (state.key) load();
