// The rod count the user stated, remembered on this device, so a known soroban is not asked again.

const RODS_KEY = "soroban-vision.rods";

export function remembered() {
  try {
    return localStorage.getItem(RODS_KEY) ?? "";
  } catch {
    return ""; // storage refused (a private window): the count is asked again
  }
}

export function remember(value) {
  try {
    if (value) localStorage.setItem(RODS_KEY, value);
    else localStorage.removeItem(RODS_KEY);
  } catch {
    // storage refused: the count holds for this visit only
  }
}
