"""The npm package as an app installs it: `npm pack` of web/, the tarball installed into a scratch
app beside its peers (TF.js and the wasm backend) and the app's tools (TypeScript, esbuild), all
from web/package-lock.json's versions through npm's cache. The app type-checks against our
declarations, imports the package in Node, and bundles a page that reads the example soroban in
headless Chromium: the number must be the one Python reads."""

from __future__ import annotations

import json
import re
import shutil
import tarfile
import tempfile
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.test_package import run

pytestmark = pytest.mark.slow
PHOTO = ROOT / "web" / "demo" / "example-soroban.jpg"
TOOLS = ("typescript", "esbuild")  # the app's devDependencies, pinned in web/'s own

# ----------------------------------------------------------------------------- the app's files

NODE_CHECK = r"""
import * as sv from "soroban-vision";
import spec from "soroban-vision/spec.json" with { type: "json" };
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const check = (ok, what) => { if (!ok) throw new Error(what); };

// what index.js exports is what index.d.ts declares
const dts = readFileSync(new URL("./node_modules/soroban-vision/src/index.d.ts", import.meta.url), "utf8");
const declared = [...dts.matchAll(/^export (?:declare )?(?:function|class|const) (\w+)/gm)].map((m) => m[1]);
check(JSON.stringify([...new Set(declared)].sort()) === JSON.stringify(Object.keys(sv).sort()),
  `exports ${Object.keys(sv).sort()} but declares ${[...new Set(declared)].sort()}`);

const [r] = sv.decode([0.9], new Float32Array([0.1, 0.1, 0.6, 0.1, 0.1]));
check(r.digit === 7 && r.heaven.active && r.earth.count === 2, "decode");
const steady = new sv.Stabilizer({ frames: 2 });
const corners = [[0, 0], [100, 0], [100, 20], [0, 20]];
check(steady.update(42, [0.99], corners) === null && steady.update(42, [0.99], corners) === 42, "Stabilizer");
check(Object.isFrozen(sv.spec) && sv.spec.columns.max === spec.columns.max, "spec");

const codeOf = (p) => p.then(() => "resolved", (e) => `${e.name}:${e.code}`);
check(await codeOf(sv.loadColumnClassifier("http://127.0.0.1:9/model/")) === "ContractError:no_tensorflow",
  "without tf: no_tensorflow");
const tf = await import("@tensorflow/tfjs");  // the peer dependency, installed beside us
const fetched = await codeOf(sv.loadColumnClassifier("file:///nowhere/", { tf, backend: "cpu" }));
check(fetched === "ContractError:fetch_failed", `tf as an option: got ${fetched}`);
check(new sv.UsageError("bad_columns", "x") instanceof sv.SorobanError, "error family");

const model = JSON.parse(readFileSync(require.resolve("soroban-vision/model/model.json"), "utf8"));
const contract = JSON.parse(readFileSync(require.resolve("soroban-vision/model/contract.json"), "utf8"));
check(model.weightsManifest && "model.json" in contract.weights.files, "the model ships");
const frame = JSON.parse(readFileSync(require.resolve("soroban-vision/frame-model/contract.json"), "utf8"));
check(frame.model.task === "frame" && frame.outputs.corners.role === "corners", "the frame model ships");
require.resolve("@opencvjs/web/lib/opencv_js.js");
console.log("ok", Object.keys(sv).length, "exports");
"""

# Every public name used with its declared types; `tsc --noEmit` must pass.
TS_CONSUMER = r"""
import * as tfjs from "@tensorflow/tfjs";
import * as wasm from "@tensorflow/tfjs-backend-wasm";
import {
  type AbacusColumn, type AbacusReading, type ColumnReading, ContractError, decode, FrameNotFound,
  type FrameDetector, loadAbacusReader, loadColumnClassifier, loadFrameDetector, SorobanError, spec,
  Stabilizer,
} from "soroban-vision";

export async function readOnce(image: HTMLImageElement): Promise<string> {
  const reader = await loadAbacusReader(new URL("./model/", location.href), {
    tf: { ...tfjs, wasm }, backend: "wasm", wasmPaths: "/wasm/", arucoUrl: "/opencv/",
  });
  try {
    const reading: AbacusReading = await reader.read(image, { markers: "auto", track: false });
    const steady = new Stabilizer({ frames: spec.stabilizer.frames });
    const confidences = reading.columns.map((c) => c.confidence);
    const held = steady.update(reading.number, confidences, reading.corners, reading.rods);
    const first: AbacusColumn = reading.columns[0];
    const digit = `${first.digit ?? "?"} ${first.heaven.p.toFixed(3)}`;
    return `${reading.text} ${held ?? "-"} ${digit} ${reading.rods.count}`;
  } catch (e) {
    if (e instanceof FrameNotFound) return e.code;
    throw e instanceof SorobanError ? new Error(e.code) : e;
  } finally {
    reader.dispose();
  }
}

export async function withoutMarkers(image: HTMLImageElement): Promise<string> {
  const frame: FrameDetector = await loadFrameDetector("/frame-model/", { backend: "wasm", tf: tfjs });
  const reader = await loadAbacusReader("/model/", { markers: "off", frameDetector: frame, tf: tfjs });
  const { method, corners } = await reader.read(image);
  reader.dispose();
  frame.dispose();
  return `${method} ${corners.length} ${frame.golden.maxDiff}`;
}

export async function columns(crops: ImageData[]): Promise<number[]> {
  const classifier = await loadColumnClassifier("/model/", { backend: "cpu", tf: tfjs });
  const readings: ColumnReading[] = await classifier.classify(crops);
  const one: ColumnReading = await classifier.classify(crops[0]);
  classifier.dispose();
  const [d] = decode([0.9], new Float32Array([0, 0, 1, 0, 0]));
  return [...readings.map((r) => r.digit), one.digit, d.digit, new ContractError("x", "y").code.length];
}
"""

# Mistakes the declarations must catch: (line, TypeScript error code).
TS_MISTAKES = r"""
import { loadAbacusReader } from "soroban-vision";
const reader = await loadAbacusReader("/model/", { backend: "webgpu" });
await reader.read(new Image(), { columns: "13" });
reader.classify;
"""
MISTAKES = {(3, "TS2322"), (4, "TS2322"), (5, "TS2339")}

TSCONFIG = {
    "compilerOptions": {
        "target": "es2022",
        "module": "esnext",
        "moduleResolution": "bundler",
        "lib": ["es2022", "dom"],
        "strict": True,
        "noEmit": True,
        "skipLibCheck": True,
        "types": [],
    },
    "files": ["consumer.ts"],
}

# A page as an app writes it: the library, TF.js and the wasm backend bundled by esbuild, whose
# file loader emits the .wasm binaries and gives their URLs; the model and OpenCV.js are copied out
# of node_modules by the build script.
PAGE = r"""
import * as tfjs from "@tensorflow/tfjs";
import * as wasm from "@tensorflow/tfjs-backend-wasm";
import plain from "@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm";
import simd from "@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm";
import threaded from "@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm";
import { loadAbacusReader } from "soroban-vision";

const url = (path) => new URL(path, location.href).href;
window.reading = (async () => {
  const image = new Image();
  image.src = "example-soroban.jpg";
  await image.decode();
  const reader = await loadAbacusReader(url("model/"), {
    tf: { ...tfjs, wasm },
    backend: "wasm",
    wasmPaths: {
      "tfjs-backend-wasm.wasm": url(plain),
      "tfjs-backend-wasm-simd.wasm": url(simd),
      "tfjs-backend-wasm-threaded-simd.wasm": url(threaded),
    },
    arucoUrl: url("markers/"),
  });
  try {
    const r = await reader.read(image);
    document.body.textContent = r.text;
    return { text: r.text, method: r.method, backend: tfjs.getBackend() };
  } finally {
    reader.dispose();
  }
})();
"""

BUILD = r"""
import { build } from "esbuild";
import { copyFileSync, cpSync } from "node:fs";
await build({
  entryPoints: ["page.js"], bundle: true, format: "esm", platform: "browser", outdir: "site",
  loader: { ".wasm": "file" }, logLevel: "warning",
});
cpSync("node_modules/soroban-vision/model", "site/model", { recursive: true });
// the marker detector: OpenCV.js, served from our own origin
const markers = "node_modules/@opencvjs/web/lib";
cpSync(markers, "site/markers", { recursive: true });
copyFileSync("index.html", "site/index.html");
"""

INDEX = (
    '<!doctype html><meta charset="utf-8"><title>app</title><script type="module" src="page.js"></script>\n'
)


# ----------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def packed(tmp_path_factory) -> dict:
    """`npm pack --json` of web/, in a copy laid out as the checkout (its prepack takes ../LICENSE
    and the two models' tfjs/), so that the checkout is never written to."""
    if shutil.which("npm") is None:
        pytest.skip("npm is not installed")
    work = tmp_path_factory.mktemp("npm")
    shutil.copytree(ROOT / "web" / "src", work / "web" / "src")
    for name in ("package.json", "README.md"):
        shutil.copy2(ROOT / "web" / name, work / "web" / name)
    shutil.copy2(ROOT / "LICENSE", work / "LICENSE")
    for model in ("column", "frame"):
        shutil.copytree(ROOT / "models" / model / "tfjs", work / "models" / model / "tfjs")
    proc = run("npm", "pack", "--json", "--pack-destination", work, cwd=work / "web")
    (info,) = json.loads(proc.stdout[proc.stdout.index("[") :])  # after prepack's own output
    tarball = work / info["filename"]
    print(
        f"\nnpm package {info['filename']}: {info['size'] / 1e3:.0f} kB packed, "
        f"{info['unpackedSize'] / 1e3:.0f} kB unpacked, {info['entryCount']} files"
    )
    return {"tarball": tarball, "info": info}


@pytest.fixture(scope="module")
def app(packed, tmp_path_factory) -> Path:
    """A scratch app with the tarball, its peers and the tools installed by `npm ci`, locked to
    web/package-lock.json's versions (npm's cache, filled by `make setup`, serves them)."""
    app = tmp_path_factory.mktemp("app")
    tarball = packed["tarball"]
    shutil.copy2(tarball, app / tarball.name)
    manifest = json.loads((ROOT / "web" / "package.json").read_text())
    pinned = manifest["devDependencies"]
    deps = {
        "soroban-vision": f"file:{tarball.name}",
        **{peer: pinned[peer] for peer in manifest["peerDependencies"]},
    }
    dev = {tool: pinned[tool] for tool in TOOLS}
    ours = {
        k: manifest[k]
        for k in ("license", "dependencies", "peerDependencies", "peerDependenciesMeta", "engines")
    }
    packages = {
        "": {"name": "app", "dependencies": deps, "devDependencies": dev},
        "node_modules/soroban-vision": {
            "version": manifest["version"],
            "resolved": deps["soroban-vision"],
            **ours,
        },
    }
    for path, entry in json.loads((ROOT / "web" / "package-lock.json").read_text())["packages"].items():
        if path:
            entry = {k: v for k, v in entry.items() if k != "dev"}
            packages[path] = {**entry, "dev": True} if any(t in path for t in TOOLS) else entry
    lock = {"name": "app", "lockfileVersion": 3, "requires": True, "packages": packages}
    (app / "package-lock.json").write_text(json.dumps(lock, indent=1))
    spec = {"name": "app", "private": True, "type": "module", "dependencies": deps, "devDependencies": dev}
    (app / "package.json").write_text(json.dumps(spec, indent=1))
    run("npm", "ci", "--prefer-offline", "--ignore-scripts", "--no-audit", "--no-fund", cwd=app, timeout=600)
    return app


# ----------------------------------------------------------------------------- the tarball


def test_the_npm_package_holds_the_library_its_types_and_the_model(packed):
    with tarfile.open(packed["tarball"]) as tar:
        names = {n.removeprefix("package/") for n in tar.getnames()}
        shipped = json.load(tar.extractfile("package/package.json"))
        license_text = tar.extractfile("package/LICENSE").read().decode()
    for name in ("package.json", "LICENSE", "README.md", "src/index.js", "src/index.d.ts"):
        assert name in names, name
    assert "src/abacus/spec.json" in names
    assert {"model/model.json", "model/contract.json", "model/group1-shard1of1.bin"} <= names
    assert {
        "frame-model/model.json",
        "frame-model/contract.json",
        "frame-model/group1-shard1of1.bin",
    } <= names
    assert not any(n.startswith(("demo/", "test/", "tools/", "node_modules/")) for n in names)
    assert shipped["name"] == "soroban-vision" and "private" not in shipped
    assert shipped["license"] == "Apache-2.0" and "Apache License" in license_text
    assert "@tensorflow/tfjs" in shipped["peerDependencies"]
    assert "@tensorflow/tfjs" not in shipped["dependencies"]  # the page's own, or an option
    assert not set(TOOLS) & set(shipped["dependencies"])  # the tools stay devDependencies
    assert packed["info"]["unpackedSize"] < 1e6


def test_the_installed_package_imports_in_node(app):
    (app / "check.mjs").write_text(NODE_CHECK)
    proc = run("node", "check.mjs", cwd=app, timeout=120)
    assert proc.stdout.startswith("ok"), proc.stdout + proc.stderr


def test_an_app_type_checks_against_the_declarations(app):
    tsc = app / "node_modules" / ".bin" / "tsc"
    (app / "consumer.ts").write_text(TS_CONSUMER)
    (app / "tsconfig.json").write_text(json.dumps(TSCONFIG, indent=1))
    run(tsc, "-p", ".", cwd=app)
    run(tsc, "-p", ".", "--module", "nodenext", "--moduleResolution", "nodenext", cwd=app)
    # our own .d.ts checked too (TF.js's declarations have errors of their own: not ours to judge)
    proc = run(tsc, "-p", ".", "--skipLibCheck", "false", cwd=app, check=False)
    ours = [
        line
        for line in proc.stdout.splitlines()
        if line.startswith(("node_modules/soroban-vision/", "consumer"))
    ]
    assert not ours, "\n".join(ours)

    (app / "mistakes.ts").write_text(TS_MISTAKES)
    (app / "tsconfig.mistakes.json").write_text(
        json.dumps({"extends": "./tsconfig.json", "files": ["mistakes.ts"]})
    )
    proc = run(tsc, "-p", "tsconfig.mistakes.json", cwd=app, check=False)
    found = {
        (int(m[1]), m[2])
        for m in re.finditer(r"^mistakes\.ts\((\d+),\d+\): error (TS\d+)", proc.stdout, re.M)
    }
    assert proc.returncode != 0 and found == MISTAKES, proc.stdout


@pytest.mark.browser
def test_a_bundled_page_reads_the_example_soroban_as_python_does(app):
    from playwright.sync_api import sync_playwright

    from soroban_vision import read_abacus
    from soroban_vision.runners.chromium import FLAGS, find_chromium
    from soroban_vision.serve import StaticServer

    (app / "page.js").write_text(PAGE)
    (app / "build.mjs").write_text(BUILD)
    (app / "index.html").write_text(INDEX)
    run("node", "build.mjs", cwd=app, timeout=120)
    site = app / "site"
    shutil.copy2(PHOTO, site / PHOTO.name)
    assert sorted(p.name for p in site.glob("*.wasm"))  # esbuild emitted the binaries itself

    expected = read_abacus(PHOTO)
    requests, errors, base = [], [], ""
    with (
        StaticServer({"/app/": site}) as server,
        sync_playwright() as playwright,
        tempfile.TemporaryDirectory(prefix="sv-chromium-") as profile,
    ):
        context = playwright.chromium.launch_persistent_context(
            profile, executable_path=find_chromium(), headless=True, args=FLAGS
        )
        try:
            page = context.new_page()
            page.on("request", lambda r: requests.append(r.url))
            page.on("pageerror", lambda e: errors.append(str(e)))
            base = server.url
            page.goto(f"{base}/app/index.html", timeout=60_000)
            reading = page.evaluate("window.reading")
            shown = page.text_content("body")
        finally:
            context.close()
    print(f"\nbundled page: {reading}; Python: {expected.number} ({expected.method})")
    assert not errors, errors
    assert reading["backend"] == "wasm" and reading["method"] == expected.method
    assert int(reading["text"]) == expected.number and shown == reading["text"]
    assert all(u.startswith(base) for u in requests), requests  # nothing from a CDN
    assert any(u.endswith(".wasm") for u in requests)
