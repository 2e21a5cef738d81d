// Sending the columns a reading classified to a collect-server (soroban-vision collect-server),
// labelled with the digits of the right answer: the real-data loop's browser side. Nothing is sent
// unless the page calls submit(); the page should ask the user first.
//
//   const reading = await reader.read(photo, { debug: true });   // debug keeps the crops it read
//   const collector = createCollector({ url: "https://collect.example", apiKey: WRITE_KEY });
//   await collector.submit(reading, 1234);                         // -> {stored, duplicates, ...}

import { SorobanError, UsageError } from "./errors.js";

const PATH = "/api/collect/v1/crops";
const VERSION = "soroban-vision-web/0.1.0";
const CROP_WIDTH = 64; // the contract's input width: a reading's crops are [columns, 128, 64]

/**
 * A collector for one collect-server. Options: url, apiKey (the server's write key), and optionally
 * player, session, device (any ids: the server keeps only keyed hashes of them), fetch.
 */
export function createCollector({ url, apiKey, player, session, device, fetch: send = globalThis.fetch } = {}) {
  if (typeof url !== "string" || !/^https?:\/\//.test(url)) throw new UsageError("bad_collector", "createCollector needs the server's url (http:// or https://)");
  if (typeof apiKey !== "string" || !apiKey) throw new UsageError("bad_collector", "createCollector needs the server's write key as apiKey");
  const endpoint = url.replace(/\/+$/, "") + PATH;
  return {
    /** Post the reading's crops, column i labelled with digit i of `correctNumber` (left-padded with zeros). */
    async submit(reading, correctNumber) {
      const { crops, width, height } = cropsOf(reading);
      const labels = answerDigits(correctNumber, reading.columns.length);
      const columns = [];
      for (let i = 0; i < reading.columns.length; i++) {
        const pixels = crops.subarray(i * width * height, (i + 1) * width * height);
        columns.push({ index: i, image: await grayPng(pixels, width, height), label: labels[i], reading: reading.columns[i].digit });
      }
      const body = { columns, answer: labels.join(""), player, session, device, client: { version: VERSION } };
      let response;
      try {
        response = await send(endpoint, {
          method: "POST",
          headers: { "Content-Type": "application/json", Authorization: `Bearer ${apiKey}` },
          body: JSON.stringify(body),
        });
      } catch (e) {
        throw new SorobanError("collect_unreachable", `the collect server cannot be reached (${String(e?.message ?? e).split("\n")[0]})`);
      }
      const doc = await response.json().catch(() => ({}));
      if (!response.ok) throw new SorobanError(doc.error?.code ?? "collect_failed", doc.error?.message ?? `the collect server answered ${response.status}`);
      return doc;
    },
  };
}

/** The model inputs the reading classified: reader.read(source, {debug: true}) keeps them. */
function cropsOf(reading) {
  const crops = reading?.crops ?? reading?.debug?.crops;
  const n = reading?.columns?.length ?? 0;
  if (!(crops instanceof Float32Array) || n === 0) {
    throw new UsageError("no_crops", "the reading has no crops: read with { debug: true } to keep the crops it classified");
  }
  const width = CROP_WIDTH, height = crops.length / n / CROP_WIDTH;
  if (!Number.isInteger(height)) throw new UsageError("no_crops", "the reading's crops do not match its columns");
  return { crops, width, height };
}

function answerDigits(value, columns) {
  const text = typeof value === "bigint" || Number.isSafeInteger(value) ? String(value) : typeof value === "string" ? value : "";
  if (!/^[0-9]+$/.test(text)) throw new UsageError("bad_answer", `the right answer must be a whole number 0 or more, got ${JSON.stringify(String(value))}`);
  const digits = text.replace(/^0+(?=\d)/, "");
  if (digits.length > columns) throw new UsageError("bad_answer", `the answer ${digits} has more digits than the ${columns} columns read`);
  return digits.padStart(columns, "0").split("").map(Number);
}

/** 8-bit gray pixels (the crop's values x 255, rounded) as a base64 PNG; the canvas stores gray as R=G=B. */
async function grayPng(values, width, height) {
  const rgba = new Uint8ClampedArray(width * height * 4);
  for (let i = 0; i < width * height; i++) {
    const g = Math.round(values[i] * 255);
    rgba[4 * i] = rgba[4 * i + 1] = rgba[4 * i + 2] = g;
    rgba[4 * i + 3] = 255;
  }
  const canvas = typeof OffscreenCanvas !== "undefined" ? new OffscreenCanvas(width, height) : Object.assign(document.createElement("canvas"), { width, height });
  canvas.getContext("2d").putImageData(new ImageData(rgba, width, height), 0, 0);
  const blob = canvas.convertToBlob ? await canvas.convertToBlob({ type: "image/png" }) : await new Promise((done) => canvas.toBlob(done, "image/png"));
  const bytes = new Uint8Array(await blob.arrayBuffer());
  let text = "";
  for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(text);
}
