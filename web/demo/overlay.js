// What the demo draws over the picture: each column's quad and digit, the frame, and the corners
// being clicked. Pure drawing: the page's state comes in as arguments.
import { spec } from "../src/index.js";

/**
 * Draw a reading (columns, frame, a digit in a pill above each column) and `marks` (clicked
 * corners, or null) on `ctx`, with line widths in units of `unit` px.
 */
export function drawOverlay(ctx, unit, reading, marks) {
  const path = (points) => {
    ctx.beginPath();
    points.forEach(([x, y], i) => (i ? ctx.lineTo(x + 0.5, y + 0.5) : ctx.moveTo(x + 0.5, y + 0.5)));
    ctx.closePath();
  };
  if (reading) {
    ctx.lineJoin = "round";
    for (const c of reading.columns) {
      const unread = c.status !== "read";
      path(c.quad);
      ctx.fillStyle = unread ? "rgba(255, 170, 0, 0.18)" : "rgba(80, 200, 255, 0.10)";
      ctx.fill();
      ctx.lineWidth = unit * 0.6;
      ctx.strokeStyle = unread ? "rgba(255, 170, 0, 0.95)" : "rgba(120, 215, 255, 0.85)";
      ctx.stroke();
    }
    path(reading.corners);
    ctx.lineWidth = unit * 1.4;
    ctx.strokeStyle = "rgba(60, 230, 120, 0.95)";
    ctx.stroke();
    // a digit above each column, in a pill
    ctx.font = `700 ${Math.round(unit * 7)}px system-ui, sans-serif`;
    ctx.textAlign = "center";
    ctx.textBaseline = "middle";
    for (const c of reading.columns) {
      const [a, b, , d] = c.quad;
      const up = [a[0] - d[0], a[1] - d[1]], n = Math.hypot(...up) || 1;
      const x = (a[0] + b[0]) / 2 + (up[0] / n) * unit * 8, y = (a[1] + b[1]) / 2 + (up[1] / n) * unit * 8;
      const r = unit * 5.2;
      ctx.beginPath();
      ctx.arc(x, y, r, 0, 2 * Math.PI);
      ctx.fillStyle = c.status !== "read" ? "#d98a00" : "rgba(20, 24, 28, 0.85)";
      ctx.fill();
      ctx.fillStyle = "#fff";
      ctx.fillText(c.digit === null ? spec.flags.unread_mark : String(c.digit), x, y + unit * 0.4);
    }
  }
  if (marks) {
    const pts = marks;
    ctx.fillStyle = "#ffb400";
    ctx.strokeStyle = "#ffb400";
    ctx.lineWidth = unit;
    if (pts.length > 1) {
      ctx.beginPath();
      pts.forEach(([x, y], i) => (i ? ctx.lineTo(x, y) : ctx.moveTo(x, y)));
      ctx.stroke();
    }
    pts.forEach(([x, y]) => {
      ctx.beginPath();
      ctx.arc(x, y, unit * 3, 0, 2 * Math.PI);
      ctx.fill();
    });
  }
}

/** Four clicks in any order -> clockwise from the top-left (the top side is a long one). */
export function orderCorners(points) {
  const cx = points.reduce((s, p) => s + p[0], 0) / 4, cy = points.reduce((s, p) => s + p[1], 0) / 4;
  const pts = points.slice().sort((a, b) => Math.atan2(a[1] - cy, a[0] - cx) - Math.atan2(b[1] - cy, b[0] - cx));
  const len = (a, b) => Math.hypot(b[0] - a[0], b[1] - a[1]);
  const long = len(pts[0], pts[1]) + len(pts[2], pts[3]) >= len(pts[1], pts[2]) + len(pts[3], pts[0]) ? 0 : 1;
  const midY = (k) => pts[k][1] + pts[(k + 1) % 4][1];
  const top = midY(long) <= midY(long + 2) ? long : long + 2;
  return pts.slice(top).concat(pts.slice(0, top));
}
