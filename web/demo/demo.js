// The demo page: read a whole soroban from the camera or a photo (loadAbacusReader), or single
// column crops (loadColumnClassifier), through the library's public surface (web/src/index.js).
// The model comes from ?model= (default /model/, where `soroban-vision serve-demo` mounts the
// shipped export), the frame model, which reads without markers, from ?frame= (default /frame/).
import { loadAbacusReader, loadColumnClassifier, loadFrameDetector, spec, Stabilizer } from "../src/index.js";
import { setupCollect } from "./collect.js";
import { drawOverlay, orderCorners } from "./overlay.js";
import { remember, remembered } from "./stated-rods.js";
import { grouped, textOf, UNREAD, wantsCorners } from "./words.js";

const params = new URLSearchParams(location.search);
const modelUrl = params.get("model") ?? "/model/";
const frameUrl = params.get("frame") ?? "/frame/";
const backend = params.get("backend") ?? "wasm";
const $ = (id) => document.getElementById(id);
const canvas = $("view"), ctx = canvas.getContext("2d");
$("model-url").textContent = modelUrl;
const collect = setupCollect(params, $); // off unless ?collect=URL&collectKey=KEY

let classifier = null, reader = null, frameDetector = null;
let mode = "idle"; // idle | photo | camera
let source = null; // the image, or the <video> of the camera
let video = null, stream = null;
let reading = null, failure = null, steady = null;
let picking = false, picked = []; // clicked corners, in the source's pixels
let corners = null; // the frame's corners when they come from clicks
let stabilizer = new Stabilizer(); // the spec's defaults, as in Python
let perFrame = null; // smoothed ms per frame (camera)

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function say(text, kind = "") {
  $("status").textContent = text;
  $("status").className = `status ${kind}`;
}

// ----------------------------------------------------------------------------- reading

function readOptions() {
  const columns = $("set-columns").value;
  const options = columns ? { columns: Number(columns) } : {};
  if (mode === "camera") options.track = true; // markers first looked for where they were
  options.markers = $("set-markers").value; // auto | on | off, as in Python
  if (corners) options.corners = corners; // clicked corners are always used as given
  if (collect.enabled && mode === "photo") options.debug = true; // keeps the crops the button may send
  return options;
}

async function readOnce() {
  if (!reader || !source) return;
  try {
    reading = await reader.read(source, readOptions());
    failure = null;
  } catch (e) {
    reading = null;
    failure = e;
  }
  if (mode === "photo") steady = reading;
  show();
}

/** Resolves at the camera's next frame (each frame read once), or the next paint without one. */
function nextFrame() {
  return new Promise((resolve) => (video?.requestVideoFrameCallback ? video.requestVideoFrameCallback(() => resolve()) : requestAnimationFrame(resolve)));
}

async function cameraLoop() {
  let last = performance.now();
  while (mode === "camera") {
    if (video.readyState >= 2) {
      await readOnce();
      const now = performance.now();
      perFrame = perFrame === null ? now - last : 0.8 * perFrame + 0.2 * (now - last);
      last = now;
      // the whole reading: a column a hand covers keeps its last confident digit; a number read
      // with another rod count, or an unsure one, never settles
      const result = reading ? stabilizer.update(reading) : stabilizer.update(null, [], null, null);
      if (result !== null) steady = { ...reading, text: textOf(stabilizer.digits), held: stabilizer.held.slice() };
      else if (!reading) steady = null;
      show();
      record();
    }
    await nextFrame();
  }
}

/** What the page showed for each camera frame, the latest 2000: for tests and screenshots. */
function record() {
  const log = (window.demoLog ??= []);
  log.push({
    t: performance.now(),
    live: reading?.text ?? null,
    shown: $("number").textContent.replace(/\s/g, ""),
    state: $("state").textContent,
    rods: reading ? { count: reading.rods.count, uncertain: reading.rods.uncertain, given: reading.rods.given } : null,
  });
  if (log.length > 2000) log.shift();
}

// ----------------------------------------------------------------------------- sources

async function openPhoto(src, name) {
  const img = new Image();
  img.src = src;
  let bitmap;
  try {
    await img.decode();
    // every decoded pixel, upright: an <img>'s naturalWidth is "density-corrected" by its EXIF
    // resolution, so drawing it would put the reading's corners in the wrong place
    bitmap = await createImageBitmap(img);
  } catch {
    reading = null;
    failure = new Error(`${name} is not an image this browser can open`);
    show();
    return;
  }
  stopCamera();
  mode = "photo";
  if (source && source !== video) source.close?.();
  source = bitmap;
  corners = null;
  picked = [];
  setPicking(false);
  $("empty").hidden = true;
  await readOnce();
  if (wantsCorners(failure)) setPicking(true);
}

async function startCamera() {
  if (mode === "camera") {
    stopCamera();
    mode = source ? "photo" : "idle";
    show();
    return;
  }
  try {
    stream = await navigator.mediaDevices.getUserMedia({
      video: { facingMode: "environment", width: { ideal: 640 }, height: { ideal: 480 } },
      audio: false,
    });
  } catch (e) {
    failure = new Error(`the camera is not available (${e.name === "NotAllowedError" ? "permission refused" : e.message})`);
    show();
    return;
  }
  video = Object.assign(document.createElement("video"), { muted: true, playsInline: true });
  video.srcObject = stream;
  await video.play();
  mode = "camera";
  source = video;
  stabilizer = new Stabilizer({ frames: Number($("set-frames").value) });
  reader?.newVideo(); // nothing kept from an earlier camera session
  steady = reading = failure = null;
  $("empty").hidden = true;
  $("camera").textContent = "Stop the camera";
  requestAnimationFrame(paintLoop);
  cameraLoop();
}

function stopCamera() {
  stream?.getTracks().forEach((t) => t.stop());
  stream = null;
  if (video) video.srcObject = null;
  $("camera").textContent = "Start the camera";
  perFrame = null;
}

function paintLoop() {
  draw();
  if (mode === "camera") requestAnimationFrame(paintLoop);
}

// ----------------------------------------------------------------------------- corners by hand

function setPicking(on) {
  picking = on;
  if (on) picked = [];
  $("corners").setAttribute("aria-pressed", String(on || corners !== null));
  $("corners").textContent = on ? "Cancel" : corners ? "Forget the corners" : "Click the corners";
  $("stage").classList.toggle("picking", on);
  hint();
  draw();
}

const CORNER_NAMES = ["top-left", "top-right", "bottom-right", "bottom-left"];

function hint() {
  const h = $("hint");
  h.hidden = !picking;
  if (picking) h.textContent = `Click the frame's ${CORNER_NAMES[picked.length]} corner (${picked.length + 1} of 4)`;
}

function canvasPoint(event) {
  const r = canvas.getBoundingClientRect();
  const scale = Math.min(r.width / canvas.width, r.height / canvas.height);
  const x = (event.clientX - r.left - (r.width - canvas.width * scale) / 2) / scale;
  const y = (event.clientY - r.top - (r.height - canvas.height * scale) / 2) / scale;
  return [x - 0.5, y - 0.5]; // pixel centres are integers in the reader's coordinates
}

canvas.addEventListener("click", (event) => {
  if (!picking || !source) return;
  picked.push(canvasPoint(event));
  if (picked.length === 4) {
    corners = orderCorners(picked);
    setPicking(false);
    if (mode === "photo") readOnce();
  } else {
    hint();
    draw();
  }
});

$("corners").addEventListener("click", () => {
  if (corners || picking) {
    corners = null;
    setPicking(false);
    if (mode === "photo") readOnce();
  } else {
    setPicking(true);
  }
});

// ----------------------------------------------------------------------------- drawing

function sourceSize() {
  if (!source) return [canvas.width, canvas.height];
  return source === video ? [video.videoWidth, video.videoHeight] : [source.width, source.height];
}

function draw() {
  if (!source) return;
  const [w, h] = sourceSize();
  if (!w || !h) return;
  if (canvas.width !== w || canvas.height !== h) Object.assign(canvas, { width: w, height: h });
  ctx.drawImage(source, 0, 0, w, h);
  drawOverlay(ctx, Math.max(1.5, Math.max(w, h) / 400), reading, picking ? picked : corners && !reading ? corners : null);
}

// ----------------------------------------------------------------------------- the panel

function show() {
  collect.offer(mode === "photo" ? reading : null);
  const shown = mode === "camera" ? steady : reading;
  const number = $("number"), state = $("state");
  const live = reading;
  const size = (text) => (text.length > 15 ? " longest" : text.length > 11 ? " longer" : text.length > 8 ? " long" : "");
  if (shown) {
    number.textContent = grouped(shown.text);
    number.className = `number${size(shown.text)}`;
  } else if (live) {
    number.textContent = grouped(live.text);
    number.className = `number tentative${size(live.text)}`;
  } else {
    number.textContent = "–";
    number.className = "number placeholder";
  }
  const hidden = live?.columns.filter((c) => c.status === "hidden").length ?? 0;
  const outside = live?.columns.filter((c) => c.status === "out_of_frame").length ?? 0;
  const held = mode === "camera" && shown?.held?.length ? " (last digits kept)" : "";
  const rivals = live ? rodCounts(live) : [];
  let chip = ["waiting for a picture", ""];
  if (failure) chip = ["no soroban found", "none"];
  else if (live && hidden) chip = [`${hidden} column${hidden > 1 ? "s" : ""} hidden${held}`, "low"];
  else if (live && outside) chip = [`${outside} column${outside > 1 ? "s" : ""} out of the picture`, "low"];
  else if (rivals.length) chip = ["rod count unsure", "low"];
  else if (live && mode === "camera") chip = shown && shown.text === live.text ? ["steady ✓", "steady"] : ["hold still…", "reading"];
  else if (live) chip = ["read ✓", "steady"];
  state.textContent = chip[0];
  state.className = `chip ${chip[1]}`;
  const progress = mode === "camera" && live ? stabilizer.progress : live ? 1 : 0;
  $("progress").firstElementChild.style.width = `${100 * progress}%`;
  $("progress").hidden = mode !== "camera";

  const message = $("message");
  message.className = `message${failure ? " error" : ""}`;
  if (failure) {
    message.textContent = wantsCorners(failure)
      ? `${failure.code !== "no_markers" ? "No soroban frame found" : "No frame markers to go by"}. Click the frame's four outer corners, top-left first, then clockwise.`
      : failure.message;
  } else if (rivals.length) {
    message.replaceChildren(`Not sure how many rods this soroban has (${rivals.join(" or ")}): say it once and it is never guessed again. `);
    for (const n of rivals) {
      const b = el("button", "rods-choice", `${n} rods`);
      b.type = "button";
      b.addEventListener("click", () => setRods(n));
      message.append(b, " ");
    }
  } else if (live?.warnings.length) {
    message.textContent = live.warnings.join("; ");
  } else {
    message.textContent = live ? "Green: the frame. Blue: each column the model read. Orange (?): a column it cannot see well enough to read." : "";
  }

  const bars = $("bars");
  bars.replaceChildren();
  if (!live) bars.append(el("span", "empty-note", "no columns yet"));
  for (const c of live?.columns ?? []) {
    const unread = c.status !== "read";
    const bar = el("div", `bar${unread ? " low" : c.confidence < 0.95 ? " mid" : ""}`);
    const track = el("div", "track"), fill = el("div", "fill");
    fill.style.height = `${Math.max(3, 100 * c.confidence)}%`;
    track.append(fill);
    bar.title = unread
      ? `column ${c.index + 1}: not read, ${UNREAD[c.status]}; confidence ${(100 * c.confidence).toFixed(1)}%`
      : `column ${c.index + 1}: digit ${c.digit}, confidence ${(100 * c.confidence).toFixed(1)}%` +
        ` (heaven ${c.heaven.active ? "down" : "up"}, ${c.earth.count} earth bead${c.earth.count === 1 ? "" : "s"} up)`;
    bar.append(track, el("div", "digit", unread ? spec.flags.unread_mark : String(c.digit)));
    bars.append(bar);
  }
  $("fact-method").textContent = live ? { markers: "4 markers", "markers-3": "3 markers", model: "frame model", contour: "frame outline", corners: "your clicks" }[live.method] ?? live.method : "–";
  const camera = mode === "camera" && perFrame;
  $("fact-ms").textContent = live ? (camera ? `${(1000 / perFrame).toFixed(0)} fps` : `${Math.round(live.ms)} ms`) : "–";
  $("fact-ms").title = live ? `${Math.round(camera ? perFrame : live.ms)} ms per frame` : "";
  $("fact-columns").textContent = live ? `${live.columns.length}${live.rods.given ? " (yours)" : ""}` : "–";
  draw();
}

/**
 * The rod counts the page is unsure between, the live one first: the reading's count and its
 * rival when the count is unsure, or the counts of the latest camera frames when they vary;
 * none when the count is sure (or stated), or on the camera, while a hand hides some columns
 * of a count an earlier still frame read sure (the Stabilizer vouches for it).
 */
function rodCounts(live) {
  if (live.rods.given) return [];
  const vouched = mode === "camera" && stabilizer.vouches(live.rods);
  if (live.rods.uncertain && !vouched) return [live.rods.count, live.rods.rival].filter((n) => n !== null);
  if (mode === "camera" && stabilizer.rodsVary) return [...new Set([live.rods.count, ...stabilizer.counts])];
  return [];
}

// ----------------------------------------------------------------------------- the rod count, once

/** The soroban has `n` rods (or "": find them): read by it from now on, and remember it. */
function setRods(n) {
  $("set-columns").value = String(n);
  remember($("set-columns").value);
  stabilizer = new Stabilizer({ frames: Number($("set-frames").value) });
  if (mode === "photo") readOnce();
  else show();
}

// ----------------------------------------------------------------------------- wiring

for (let n = spec.columns.min; n <= spec.columns.max; n++) $("set-columns").append(new Option(String(n), String(n)));
$("set-columns").value = remembered();
if ($("set-columns").value !== remembered()) remember(""); // a count this page no longer offers
$("set-frames").value = $("set-frames-value").textContent = String(spec.stabilizer.frames);
$("set-frames").addEventListener("input", () => {
  $("set-frames-value").textContent = $("set-frames").value;
  stabilizer = new Stabilizer({ frames: Number($("set-frames").value) });
});
$("set-columns").addEventListener("change", () => setRods($("set-columns").value));
$("set-markers").addEventListener("change", () => {
  if ($("set-markers").value === "off" && !corners && !frameDetector && mode === "camera") setPicking(true); // a video runs no outline search
  if (mode === "photo") readOnce();
});

$("camera").addEventListener("click", startCamera);
$("example").addEventListener("click", () => openPhoto("example-soroban.jpg", "the example"));
$("photo").addEventListener("change", () => {
  const file = $("photo").files[0];
  if (file) openPhoto(URL.createObjectURL(file), file.name);
  $("photo").value = "";
});
const stage = $("stage");
stage.addEventListener("dragover", (e) => { e.preventDefault(); stage.classList.add("over"); });
stage.addEventListener("dragleave", () => stage.classList.remove("over"));
stage.addEventListener("drop", (e) => {
  e.preventDefault();
  stage.classList.remove("over");
  const file = [...e.dataTransfer.files].find((f) => f.type.startsWith("image/") || f.type === "");
  if (file) openPhoto(URL.createObjectURL(file), file.name);
});

function switchTab(which) {
  const abacus = which === "abacus";
  $("abacus-mode").hidden = !abacus;
  $("columns-mode").hidden = abacus;
  $("tab-abacus").classList.toggle("on", abacus);
  $("tab-columns").classList.toggle("on", !abacus);
  $("tab-abacus").setAttribute("aria-selected", String(abacus));
  $("tab-columns").setAttribute("aria-selected", String(!abacus));
  if (!abacus && mode === "camera") startCamera(); // stops it
}
$("tab-abacus").addEventListener("click", () => switchTab("abacus"));
$("tab-columns").addEventListener("click", () => switchTab("columns"));

// ----------------------------------------------------------------------------- single columns

function card(name, src, r) {
  const c = el("article", "card");
  const img = el("img");
  img.src = src;
  img.alt = name;
  const body = el("div");
  body.append(
    el("div", "digit", String(r.digit)),
    el("div", `confidence${r.confidence < spec.low_confidence ? " low" : ""}`, `confidence ${(100 * r.confidence).toFixed(1)}%`),
    el("div", "head", `heaven ${r.heaven.active ? "down (5)" : "up (0)"} · p ${r.heaven.p.toFixed(3)}`),
    el("div", "head", `earth ${r.earth.count} of 4 beads up`),
  );
  const bars = el("div", "bars"), labels = el("div", "bar-labels");
  r.earth.probs.forEach((p, k) => {
    const bar = el("span", k === r.earth.count ? "chosen" : "");
    bar.style.height = `${Math.max(2, 100 * p)}%`;
    bar.title = `${k} beads: ${p.toFixed(4)}`;
    bars.append(bar);
    labels.append(el("span", "", String(k)));
  });
  body.append(bars, labels);
  c.append(img, body, el("div", "name", name));
  return c;
}

async function readColumns(items) {
  if (!classifier || items.length === 0) return;
  const loaded = await Promise.all(items.map(async (it) => {
    const img = new Image();
    img.src = it.src;
    try {
      await img.decode();
      return { ...it, img };
    } catch {
      return { ...it, error: "not a readable image" };
    }
  }));
  const good = loaded.filter((it) => it.img);
  let readings;
  try {
    readings = await classifier.classify(good.map((it) => it.img));
  } catch (e) {
    say(e.message, "error");
    return;
  }
  $("results").prepend(...loaded.map((it) => {
    if (!it.error) return card(it.name, it.src, readings[good.indexOf(it)]);
    const c = el("article", "card error");
    c.append(el("strong", "", it.name), el("div", "", it.error));
    return c;
  }));
}

function readColumnFiles(files) {
  const images = [...files].filter((f) => f.type.startsWith("image/") || f.type === "");
  readColumns(images.map((f) => ({ name: f.name, src: URL.createObjectURL(f) })));
}

const drop = $("drop"), input = $("files");
drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (e) => {
  e.preventDefault();
  drop.classList.remove("over");
  readColumnFiles(e.dataTransfer.files);
});
drop.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") input.click(); });
input.addEventListener("change", () => { readColumnFiles(input.files); input.value = ""; });
$("clear").addEventListener("click", () => $("results").replaceChildren());
$("examples").addEventListener("click", () => readColumns(classifier.contract.golden.vectors.map((v, i) => ({
  name: `built-in example ${i + 1} (label ${v.label})`, src: v.image,
}))));

// ----------------------------------------------------------------------------- start

show();
try {
  classifier = await loadColumnClassifier(modelUrl, { backend });
  frameDetector = await loadFrameDetector(frameUrl, { backend }).catch((e) => {
    console.warn(`no frame model at ${frameUrl}, so no reading without markers: ${e.message}`);
    return null;
  });
  reader = await loadAbacusReader(modelUrl, { classifier, frameDetector });
  const g = classifier.golden;
  say(`Ready: model “${classifier.contract.model.name}” (${classifier.contract.weights.precision}) on ${classifier.backend}; ` +
      `its golden self-check passed on ${g.vectors} images (max difference ${g.maxDiff.toExponential(1)}). ` +
      (frameDetector ? "The frame model reads sorobans without markers." : "No frame model: without markers, photos are framed by their outline, and the camera needs markers or your clicks."), "ok");
  for (const id of ["camera", "example", "examples"]) $(id).disabled = false;
  if (!navigator.mediaDevices?.getUserMedia) {
    $("camera").disabled = true;
    $("camera").title = "this browser gives this page no camera (it needs https or localhost)";
  }
  window.demoReady = true; // for tests and screenshots
} catch (e) {
  say(`The model could not be loaded: ${e.message}`, "error");
}
