// The demo page: load the shipped model with its contract, read dropped column images.
import { loadColumnClassifier } from "../src/soroban-vision.js";

const params = new URLSearchParams(location.search);
const modelUrl = params.get("model") ?? "/model/";
const backend = params.get("backend") ?? "wasm";
const $ = (id) => document.getElementById(id);
const status = $("status"), results = $("results"), drop = $("drop"), input = $("files");
$("model-url").textContent = modelUrl;

let classifier = null;

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function say(text, kind = "") {
  status.textContent = text;
  status.className = `status ${kind}`;
}

function card(name, src, reading) {
  const c = el("article", "card");
  const img = el("img");
  img.src = src;
  img.alt = name;
  const body = el("div");
  body.append(
    el("div", "digit", String(reading.digit)),
    el("div", `confidence${reading.confidence < 0.8 ? " low" : ""}`, `confidence ${(100 * reading.confidence).toFixed(1)}%`),
    el("div", "head", `heaven ${reading.heaven.active ? "down (5)" : "up (0)"} · p ${reading.heaven.p.toFixed(3)}`),
    el("div", "head", `earth ${reading.earth.count} of 4 beads up`),
  );
  const bars = el("div", "bars"), labels = el("div", "bar-labels");
  reading.earth.probs.forEach((p, k) => {
    const bar = el("span", k === reading.earth.count ? "chosen" : "");
    bar.style.height = `${Math.max(2, 100 * p)}%`;
    bar.title = `${k} beads: ${p.toFixed(4)}`;
    bars.append(bar);
    labels.append(el("span", "", String(k)));
  });
  body.append(bars, labels);
  c.append(img, body, el("div", "name", name));
  return c;
}

function errorCard(name, message) {
  const c = el("article", "card error");
  c.append(el("strong", "", name), el("div", "", message));
  return c;
}

async function loadImage(src) {
  const img = new Image();
  img.src = src;
  await img.decode();
  return img;
}

/** Read a list of {name, src} in one batch; unreadable images get an error card. */
async function read(items) {
  if (!classifier || items.length === 0) return;
  const loaded = await Promise.all(items.map(async (it) => {
    try {
      return { ...it, img: await loadImage(it.src) };
    } catch {
      return { ...it, error: "not a readable image" };
    }
  }));
  const good = loaded.filter((it) => it.img);
  let readings = [];
  try {
    readings = await classifier.classify(good.map((it) => it.img));
  } catch (e) {
    say(e.message, "error");
    return;
  }
  const cards = [];
  loaded.forEach((it) => {
    cards.push(it.error ? errorCard(it.name, it.error) : card(it.name, it.src, readings[good.indexOf(it)]));
  });
  results.prepend(...cards);
}

function readFiles(files) {
  const images = [...files].filter((f) => f.type.startsWith("image/") || f.type === "");
  read(images.map((f) => ({ name: f.name, src: URL.createObjectURL(f) })));
}

drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (e) => {
  e.preventDefault();
  drop.classList.remove("over");
  readFiles(e.dataTransfer.files);
});
drop.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") input.click(); });
input.addEventListener("change", () => { readFiles(input.files); input.value = ""; });
$("clear").addEventListener("click", () => results.replaceChildren());
$("examples").addEventListener("click", () => read(classifier.contract.golden.vectors.map((v, i) => ({
  name: `built-in example ${i + 1} (label ${v.label})`, src: v.image,
}))));

try {
  classifier = await loadColumnClassifier(modelUrl, { backend });
  const g = classifier.golden;
  say(`Ready: model “${classifier.contract.model.name}” (${classifier.contract.weights.precision}) on ${classifier.backend}; ` +
      `golden self-check passed on ${g.vectors} images (max difference ${g.maxDiff.toExponential(1)}).`, "ok");
  $("examples").disabled = false;
} catch (e) {
  say(`The model could not be loaded: ${e.message}`, "error");
}
