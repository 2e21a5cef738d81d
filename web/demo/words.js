// The demo's words for what the reader found: number formatting and why a column is unread.
import { spec } from "../src/index.js";

/** A failure that clicking the frame's corners would cure: no frame found, by markers, the frame model or the outline. */
export const wantsCorners = (e) => ["no_markers", "no_frame", "no_frame_outline"].includes(e?.code);

/** 4 644 935: thin spaces every three digits, as the unit dots on a soroban's bar. */
export const grouped = (text) => [...text].map((ch, i) => (i > 0 && (text.length - i) % 3 === 0 ? "\u2009" : "") + ch).join("");

/** Digits (null: not read) as the reader writes them: leading zeros dropped, "?" where unread. */
export const textOf = (digits) => digits.map((d) => (d === null ? spec.flags.unread_mark : String(d))).join("").replace(/^0+(?=.)/, "");

/** Why a column has no digit, in words. */
export const UNREAD = { hidden: "hidden (covered, or the model is unsure)", out_of_frame: "outside the picture" };
