// Line charts on a canvas: axes with round-number ticks, labels, a legend,
// crisp on high-DPI screens, and long series thinned to min/max per pixel
// column so 16k-sample outputs still draw in a millisecond.

const FONT = '12px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
const AXIS_COLOR = '#475569';
const GRID_COLOR = '#e2e8f0';
const TEXT_COLOR = '#334155';
// The right margin holds guide labels; every chart has it, so x axes line up.
const MARGIN = { left: 58, right: 44, top: 30, bottom: 38 };

// 1, 2 or 5 times a power of ten, about `count` steps over [min, max].
function niceTicks(min, max, count) {
  const span = max - min;
  if (!(span > 0)) return [min];
  const rough = span / count;
  const power = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= rough);
  const ticks = [];
  for (let v = Math.ceil(min / step) * step; v <= max + step * 1e-9; v += step) {
    ticks.push(Math.abs(v) < step * 1e-9 ? 0 : v);
  }
  return ticks;
}

function formatTick(v) {
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1e5 || a < 1e-3)) return v.toExponential(0);
  return String(Number(v.toPrecision(4)));
}

// Sizes the backing store to the canvas's CSS size times devicePixelRatio.
function prepare(canvas) {
  const ratio = window.devicePixelRatio || 1;
  const width = Math.max(1, canvas.clientWidth);
  const height = Math.max(1, canvas.clientHeight);
  if (canvas.width !== Math.round(width * ratio) || canvas.height !== Math.round(height * ratio)) {
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(height * ratio);
  }
  const ctx = canvas.getContext('2d');
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.clearRect(0, 0, width, height);
  ctx.font = FONT;
  return { ctx, width, height };
}

// The points of one series in screen space; when there are more points than
// pixel columns, each column keeps its first, min, max and last point.
function screenPoints(series, toX, toY, plotWidth) {
  const { y, x } = series;
  const n = y.length;
  const points = [];
  if (n <= plotWidth * 2) {
    for (let i = 0; i < n; i++) points.push([toX(x(i)), toY(y[i])]);
    return points;
  }
  let column = null;
  let first; let last; let min; let max;
  const flush = () => {
    if (column === null) return;
    points.push(first);
    if (min[1] !== first[1] && min !== last) points.push(min);
    if (max[1] !== first[1] && max !== last) points.push(max);
    points.push(last);
  };
  for (let i = 0; i < n; i++) {
    const p = [toX(x(i)), toY(y[i])];
    const c = Math.floor(p[0]);
    if (c !== column) {
      flush();
      column = c; first = p; last = p; min = p; max = p;
    } else {
      last = p;
      if (p[1] < min[1]) min = p;
      if (p[1] > max[1]) max = p;
    }
  }
  flush();
  return points;
}

// The axis ranges: everything drawn, widened so flat lines and ±guides stay
// visible, unless options give them.
function chartRanges(nonEmpty, options) {
  let [xMin, xMax] = options.xRange || [Infinity, -Infinity];
  let [yMin, yMax] = options.yRange || [Infinity, -Infinity];
  for (const s of nonEmpty) {
    if (!options.xRange) {
      xMin = Math.min(xMin, s.x(0));
      xMax = Math.max(xMax, s.x(s.y.length - 1));
    }
    if (!options.yRange) {
      for (let i = 0; i < s.y.length; i++) {
        if (s.y[i] < yMin) yMin = s.y[i];
        if (s.y[i] > yMax) yMax = s.y[i];
      }
    }
  }
  if (!options.yRange) {
    for (const g of options.guides || []) {
      yMin = Math.min(yMin, g.y);
      yMax = Math.max(yMax, g.y);
    }
    // A flat signal still gets a readable axis around its value.
    const minSpan = Math.max(options.minYSpan || 0, Math.abs(yMax + yMin) * 0.05, 1e-3);
    if (yMax - yMin < minSpan) {
      const mid = (yMax + yMin) / 2;
      yMin = mid - minSpan / 2;
      yMax = mid + minSpan / 2;
    }
    const yPad = (yMax - yMin) * 0.06;
    yMin -= yPad;
    yMax += yPad;
  }
  if (!(xMax > xMin)) { xMin -= 0.5; xMax += 0.5; }
  // A little room so markers on the first and last sample are not cut.
  if (!options.xRange) {
    const xPad = (xMax - xMin) * 0.012;
    xMin -= xPad;
    xMax += xPad;
  }
  return { xMin, xMax, yMin, yMax };
}

// Grid, tick labels, the frame and the axis labels.
function drawAxes(ctx, frame, options) {
  const { plotLeft, plotRight, plotTop, plotBottom, plotWidth, plotHeight, width, height, toX, toY, ranges } = frame;
  ctx.lineWidth = 1;
  ctx.strokeStyle = GRID_COLOR;
  ctx.fillStyle = TEXT_COLOR;
  ctx.textAlign = 'right';
  ctx.textBaseline = 'middle';
  for (const t of niceTicks(ranges.yMin, ranges.yMax, Math.max(3, Math.floor(plotHeight / 40)))) {
    const y = Math.round(toY(t)) + 0.5;
    ctx.beginPath(); ctx.moveTo(plotLeft, y); ctx.lineTo(plotRight, y); ctx.stroke();
    ctx.fillText(formatTick(t), plotLeft - 6, y);
  }
  ctx.textAlign = 'center';
  ctx.textBaseline = 'top';
  for (const t of niceTicks(ranges.xMin, ranges.xMax, Math.max(2, Math.floor(plotWidth / 90)))) {
    const x = Math.round(toX(t)) + 0.5;
    ctx.beginPath(); ctx.moveTo(x, plotTop); ctx.lineTo(x, plotBottom); ctx.stroke();
    ctx.fillText(formatTick(t), x, plotBottom + 5);
  }
  ctx.strokeStyle = AXIS_COLOR;
  ctx.strokeRect(plotLeft + 0.5, plotTop + 0.5, plotWidth - 1, plotHeight - 1);

  ctx.fillStyle = TEXT_COLOR;
  ctx.textBaseline = 'bottom';
  ctx.fillText(options.xLabel, plotLeft + plotWidth / 2, height - 2);
  ctx.save();
  ctx.translate(13, plotTop + plotHeight / 2);
  ctx.rotate(-Math.PI / 2);
  ctx.textBaseline = 'middle';
  ctx.fillText(options.yLabel, 0, 0);
  ctx.restore();
}

// One series: a line (or stems from 0), and markers while they stay apart.
function drawSeries(ctx, s, frame) {
  const points = screenPoints(s, frame.toX, frame.toY, frame.plotWidth);
  ctx.globalAlpha = s.alpha ?? 1;
  ctx.strokeStyle = s.color;
  ctx.fillStyle = s.color;
  ctx.lineWidth = s.width || 1.5;
  ctx.lineJoin = 'round';
  ctx.lineCap = 'round';
  if (s.stems) {
    const base = frame.toY(0);
    ctx.beginPath();
    for (const [x, y] of points) { ctx.moveTo(x, base); ctx.lineTo(x, y); }
    ctx.stroke();
  } else {
    ctx.beginPath();
    points.forEach(([x, y], i) => (i === 0 ? ctx.moveTo(x, y) : ctx.lineTo(x, y)));
    ctx.stroke();
  }
  if (s.markers && points.length <= frame.plotWidth / 5) {
    const r = s.markers;
    for (const [x, y] of points) {
      ctx.beginPath();
      ctx.arc(x, y, r, 0, 2 * Math.PI);
      if (s.hollow) {
        ctx.fillStyle = '#ffffff';
        ctx.fill();
        ctx.lineWidth = 1.5;
        ctx.stroke();
      } else {
        ctx.fill();
      }
    }
  }
  ctx.globalAlpha = 1;
}

// Title (left) and legend (right), above the plot.
function drawTitleAndLegend(ctx, series, frame, options) {
  ctx.textBaseline = 'middle';
  ctx.textAlign = 'left';
  ctx.fillStyle = TEXT_COLOR;
  if (options.title) ctx.fillText(options.title, frame.plotLeft, MARGIN.top / 2);
  let x = frame.plotRight;
  ctx.textAlign = 'right';
  for (const s of [...series].reverse()) {
    if (!s.label) continue;
    const textWidth = ctx.measureText(s.label).width;
    ctx.fillStyle = TEXT_COLOR;
    ctx.fillText(s.label, x, MARGIN.top / 2);
    x -= textWidth + 6;
    ctx.globalAlpha = s.alpha ?? 1;
    ctx.strokeStyle = s.color;
    ctx.lineWidth = Math.max(2, s.width || 1.5);
    ctx.beginPath(); ctx.moveTo(x - 18, MARGIN.top / 2); ctx.lineTo(x, MARGIN.top / 2); ctx.stroke();
    if (s.markers) {
      ctx.beginPath();
      ctx.arc(x - 9, MARGIN.top / 2, s.markers, 0, 2 * Math.PI);
      ctx.fillStyle = s.hollow ? '#ffffff' : s.color;
      ctx.fill();
      if (s.hollow) { ctx.lineWidth = 1.5; ctx.stroke(); }
    }
    ctx.globalAlpha = 1;
    x -= 18 + 16;
  }
}

/**
 * Draws a chart.
 * series: [{ label, x: (i) => number, y: ArrayLike<number>, color, width, alpha, markers, stems }]
 * series[].markers: dot radius (drawn while dots stay apart); hollow: open circles; stems: bars from 0.
 * options: { xLabel, yLabel, title?, xRange?, yRange?, minYSpan?, guides: [{ y, label, color }], emptyText? }
 */
export function drawChart(canvas, series, options) {
  const { ctx, width, height } = prepare(canvas);
  const plotLeft = MARGIN.left;
  const plotRight = width - MARGIN.right;
  const plotTop = MARGIN.top;
  const plotBottom = height - MARGIN.bottom;
  const plotWidth = Math.max(1, plotRight - plotLeft);
  const plotHeight = Math.max(1, plotBottom - plotTop);

  const nonEmpty = series.filter((s) => s.y.length > 0);
  if (nonEmpty.length === 0) {
    ctx.fillStyle = TEXT_COLOR;
    ctx.textAlign = 'center';
    ctx.fillText(options.emptyText || 'no data', width / 2, height / 2);
    return;
  }

  const ranges = chartRanges(nonEmpty, options);
  const toX = (v) => plotLeft + ((v - ranges.xMin) / (ranges.xMax - ranges.xMin)) * plotWidth;
  const toY = (v) => plotBottom - ((v - ranges.yMin) / (ranges.yMax - ranges.yMin)) * plotHeight;
  const frame = { plotLeft, plotRight, plotTop, plotBottom, plotWidth, plotHeight, width, height, toX, toY, ranges };
  drawAxes(ctx, frame, options);

  // Guides (dashed horizontal lines) and series (later ones on top), clipped to the plot.
  ctx.save();
  ctx.beginPath();
  ctx.rect(plotLeft, plotTop, plotWidth, plotHeight);
  ctx.clip();
  for (const g of options.guides || []) {
    const y = Math.round(toY(g.y)) + 0.5;
    ctx.setLineDash([5, 4]);
    ctx.strokeStyle = g.color || AXIS_COLOR;
    ctx.beginPath(); ctx.moveTo(plotLeft, y); ctx.lineTo(plotRight, y); ctx.stroke();
    ctx.setLineDash([]);
  }
  for (const s of nonEmpty) drawSeries(ctx, s, frame);
  ctx.restore();

  // Guide labels in the right margin (outside the clip), level with their lines.
  ctx.textAlign = 'left';
  ctx.textBaseline = 'middle';
  for (const g of options.guides || []) {
    if (!g.label) continue;
    ctx.fillStyle = g.color || AXIS_COLOR;
    ctx.fillText(g.label, plotRight + 4, Math.round(toY(g.y)) + 0.5);
  }
  drawTitleAndLegend(ctx, series, frame, options);
}
