// The demo's opt-in "That's right, send these columns". Offered only when the page is opened with
// ?collect=SERVER_URL&collectKey=WRITE_KEY, only for a photo's reading, and nothing is sent until
// the user presses the button: then only the column crops the model read, labelled with the number
// the user confirmed, go to that server (never the photo).
import { createCollector } from "../src/index.js";

export function setupCollect(params, $) {
  const url = params.get("collect"), apiKey = params.get("collectKey");
  if (!url || !apiKey) return { enabled: false, offer() {} };
  const session = crypto.randomUUID(); // one per page load: the server keeps only its hash
  const collector = createCollector({ url, apiKey, session });
  const box = $("collect"), button = $("collect-send"), status = $("collect-status");
  $("collect-url").textContent = url;
  let current = null;
  button.addEventListener("click", async () => {
    const reading = current;
    if (!reading) return;
    button.disabled = true;
    status.textContent = "sending…";
    try {
      const doc = await collector.submit(reading, reading.text);
      status.textContent = `sent: ${doc.stored} new column(s), ${doc.duplicates} already there. Thank you!`;
    } catch (e) {
      status.textContent = `not sent: ${e.message}`;
      button.disabled = false;
    }
  });
  return {
    enabled: true,
    /** The reading now shown (null hides the offer); a new reading can be sent once. */
    offer(reading) {
      const usable = reading?.debug?.crops ? reading : null;
      if (usable === current) return;
      current = usable;
      box.hidden = current === null;
      button.disabled = current === null;
      status.textContent = "";
      if (current) $("collect-number").textContent = current.text;
    },
  };
}
