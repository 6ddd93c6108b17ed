/**
 * Dependency-free SVG charts for docs/images: stacked time-series panels sharing the x axis, and
 * histograms. Plain shapes and text only, so GitHub renders them in the markdown.
 */

const COLORS = ['#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c'];
const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function niceMax(value) {
  if (!(value > 0)) return 1;
  const exp = 10 ** Math.floor(Math.log10(value));
  for (const m of [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (value <= m * exp) return m * exp;
  return 10 * exp;
}

function label(value) {
  if (Math.abs(value) >= 1e6) return `${+(value / 1e6).toFixed(1)}M`;
  if (Math.abs(value) >= 1e4) return `${+(value / 1e3).toFixed(0)}k`;
  if (Math.abs(value) >= 1e3) return `${+(value / 1e3).toFixed(1)}k`;
  return `${+value.toFixed(value < 10 ? 1 : 0)}`;
}

/**
 * @param {{ title: string, xLabel: string, panels: Array<{ label: string,
 *   series: Array<{ name: string, points: Array<[number, number]>, color?: string }>,
 *   goal?: { y: number, label: string } }> }} chart
 */
export function timeSeriesChart({ title, xLabel, panels, width = 900, panelHeight = 150 }) {
  const left = 70;
  const right = 180;
  const top = 40;
  const gap = 30;
  const plotW = width - left - right;
  const height = top + panels.length * (panelHeight + gap) + 30;
  const allX = panels.flatMap((p) => p.series.flatMap((s) => s.points.map((pt) => pt[0])));
  const xMax = niceMax(Math.max(1, ...allX));
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="${left}" y="22" font-size="15" font-weight="bold">${esc(title)}</text>`,
  ];
  panels.forEach((panel, p) => {
    const y0 = top + p * (panelHeight + gap);
    const values = panel.series.flatMap((s) => s.points.map((pt) => pt[1])).filter(Number.isFinite);
    const yMax = niceMax(Math.max(panel.goal?.y ?? 0, ...values, 0) * 1.05);
    const sx = (x) => left + (x / xMax) * plotW;
    const sy = (y) => y0 + panelHeight - (Math.min(y, yMax) / yMax) * panelHeight;
    out.push(`<rect x="${left}" y="${y0}" width="${plotW}" height="${panelHeight}" fill="none" stroke="#999"/>`);
    for (let k = 0; k <= 4; k++) {
      const v = (yMax * k) / 4;
      out.push(`<line x1="${left}" x2="${left + plotW}" y1="${sy(v)}" y2="${sy(v)}" stroke="#eee"/>`);
      out.push(`<text x="${left - 6}" y="${sy(v) + 4}" text-anchor="end" fill="#555">${label(v)}</text>`);
    }
    out.push(`<text x="${left + plotW + 10}" y="${y0 + 14}" font-weight="bold">${esc(panel.label)}</text>`);
    if (panel.goal) {
      out.push(
        `<line x1="${left}" x2="${left + plotW}" y1="${sy(panel.goal.y)}" y2="${sy(panel.goal.y)}" stroke="#000" stroke-dasharray="6 4"/>`,
      );
      out.push(
        `<text x="${left + plotW + 10}" y="${y0 + 14 + 16 * (panel.series.length + 1)}" fill="#000">- - ${esc(panel.goal.label)}</text>`,
      );
    }
    panel.series.forEach((series, k) => {
      const color = series.color ?? COLORS[k % COLORS.length];
      const pts = series.points.filter((pt) => Number.isFinite(pt[1]));
      if (pts.length)
        out.push(
          `<polyline fill="none" stroke="${color}" stroke-width="1.5" points="${pts.map(([x, y]) => `${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(' ')}"/>`,
        );
      out.push(`<text x="${left + plotW + 10}" y="${y0 + 30 + 16 * k}" fill="${color}">${esc(series.name)}</text>`);
    });
    for (let k = 0; k <= 5; k++) {
      const x = (xMax * k) / 5;
      out.push(`<text x="${sx(x)}" y="${y0 + panelHeight + 14}" text-anchor="middle" fill="#555">${label(x)}</text>`);
    }
  });
  out.push(`<text x="${left + plotW / 2}" y="${height - 6}" text-anchor="middle">${esc(xLabel)}</text>`);
  out.push('</svg>');
  return out.join('\n') + '\n';
}

/**
 * Histograms of one or more samples on a shared x axis (one panel each), with an optional goal line.
 * @param {{ title: string, xLabel: string, binWidth: number, xMax?: number,
 *   series: Array<{ name: string, values: number[], color?: string }>, goal?: { x: number, label: string } }} chart
 */
export function histogramChart({ title, xLabel, binWidth, xMax, series, goal, width = 900, panelHeight = 140 }) {
  const left = 70;
  const right = 200;
  const top = 40;
  const gap = 34;
  const plotW = width - left - right;
  const height = top + series.length * (panelHeight + gap) + 30;
  const maxValue = xMax ?? niceMax(Math.max(goal?.x ?? 0, ...series.flatMap((s) => s.values)) * 1.05);
  const bins = Math.max(1, Math.ceil(maxValue / binWidth));
  const sx = (x) => left + (Math.min(x, maxValue) / maxValue) * plotW;
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="${left}" y="22" font-size="15" font-weight="bold">${esc(title)}</text>`,
  ];
  series.forEach((s, k) => {
    const y0 = top + k * (panelHeight + gap);
    const counts = new Array(bins).fill(0);
    for (const v of s.values) counts[Math.min(bins - 1, Math.max(0, Math.floor(v / binWidth)))]++;
    const cMax = niceMax(Math.max(1, ...counts));
    const color = s.color ?? COLORS[k % COLORS.length];
    out.push(`<rect x="${left}" y="${y0}" width="${plotW}" height="${panelHeight}" fill="none" stroke="#999"/>`);
    counts.forEach((c, b) => {
      if (!c) return;
      const h = (c / cMax) * panelHeight;
      const x = sx(b * binWidth);
      out.push(
        `<rect x="${x.toFixed(1)}" y="${(y0 + panelHeight - h).toFixed(1)}" width="${Math.max(1, sx((b + 1) * binWidth) - x - 0.5).toFixed(1)}" height="${h.toFixed(1)}" fill="${color}"/>`,
      );
    });
    for (let t = 0; t <= 4; t++) {
      const v = (cMax * t) / 4;
      const y = y0 + panelHeight - (v / cMax) * panelHeight;
      out.push(`<text x="${left - 6}" y="${y + 4}" text-anchor="end" fill="#555">${label(v)}</text>`);
    }
    for (let t = 0; t <= 5; t++) {
      const x = (maxValue * t) / 5;
      out.push(`<text x="${sx(x)}" y="${y0 + panelHeight + 14}" text-anchor="middle" fill="#555">${label(x)}</text>`);
    }
    if (goal) {
      out.push(`<line x1="${sx(goal.x)}" x2="${sx(goal.x)}" y1="${y0}" y2="${y0 + panelHeight}" stroke="#000" stroke-dasharray="6 4"/>`);
    }
    const sorted = [...s.values].sort((a, b) => a - b);
    const pct = (p) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] : NaN);
    out.push(`<text x="${left + plotW + 10}" y="${y0 + 14}" font-weight="bold" fill="${color}">${esc(s.name)}</text>`);
    out.push(`<text x="${left + plotW + 10}" y="${y0 + 32}">n ${sorted.length}</text>`);
    out.push(`<text x="${left + plotW + 10}" y="${y0 + 48}">p50 ${label(pct(50))}, p99 ${label(pct(99))}</text>`);
    out.push(`<text x="${left + plotW + 10}" y="${y0 + 64}">max ${label(sorted.at(-1) ?? NaN)}</text>`);
    if (goal) out.push(`<text x="${left + plotW + 10}" y="${y0 + 80}">- - ${esc(goal.label)}</text>`);
  });
  out.push(`<text x="${left + plotW / 2}" y="${height - 6}" text-anchor="middle">${esc(xLabel)}</text>`);
  out.push('</svg>');
  return out.join('\n') + '\n';
}
