/*
 * Warden charts: draws the charts a page describes, with uPlot.
 *
 * A chart is an element [data-chart] holding a <script type="application/json"> with
 *   { id, title, kind: "line" | "bar", times?: [unix seconds], labels?: [text],
 *     unit, series: [{ label, values: [number | null] }] }
 * (built by the server: analytics/charts.rs). The figures are also on the page as a table, so
 * the chart is a picture of them and nothing more.
 *
 * A query result [data-result-plot] (the SQL console) gets a small form to plot it as a line or
 * bar chart: x is the chosen column, y every other numeric column.
 *
 * Used by the console (with htmx) and by the self-contained weekly report (without it).
 */
(function () {
  'use strict';

  // Okabe–Ito: told apart by people with any common colour vision.
  const PALETTE = ['#0072B2', '#E69F00', '#009E73', '#D55E00', '#CC79A7', '#56B4E9', '#999999', '#000000'];
  const HEIGHT = 260;
  const ISO_DAY = /^\d{4}-\d{2}-\d{2}/;

  function widthOf(el) {
    return Math.max(320, Math.floor(el.clientWidth || (el.parentElement && el.parentElement.clientWidth) || 640));
  }

  function options(spec, width) {
    const categorical = !spec.times || spec.times.length === 0;
    const labels = spec.labels || [];
    const series = [{}].concat(spec.series.map(function (s, i) {
      const colour = PALETTE[i % PALETTE.length];
      const one = { label: s.label, stroke: colour, width: 2, points: { show: spec.kind !== 'bar' && categorical } };
      if (spec.kind === 'bar') {
        // Several series share each slot: translucent, so a shorter bar shows through a taller.
        one.fill = spec.series.length > 1 ? colour + '59' : colour;
        one.paths = uPlot.paths.bars({ size: [0.7, 80] });
      }
      return one;
    }));
    const x = categorical
      ? {
          time: false,
          range: function (u, min, max) { return [min - 0.5, max + 0.5]; },
        }
      : { time: true };
    // Categories: one tick per bar, named; long or many names are turned to fit.
    const slanted = labels.length > 6 || labels.some(function (l) { return l.length > 10; });
    const xAxis = categorical
      ? {
          splits: function () { return labels.map(function (_, i) { return i; }); },
          // Past about thirty bars, every n-th is named, so the names stay readable.
          values: function (u, splits) {
            const every = Math.max(1, Math.ceil(labels.length / 30));
            return splits.map(function (i) { return i % every === 0 ? (labels[i] || '') : ''; });
          },
          rotate: slanted ? -40 : 0,
          size: slanted ? 110 : 40,
          gap: 4,
        }
      : {};
    return {
      title: spec.title,
      width: width,
      height: HEIGHT,
      series: series,
      scales: { x: x, y: { range: function (u, min, max) { return [Math.min(0, min), max > 0 ? max * 1.1 : 1]; } } },
      axes: [xAxis, { label: spec.unit || '' }],
      legend: { live: true },
    };
  }

  function data(spec) {
    const xs = spec.times && spec.times.length > 0
      ? spec.times
      : (spec.labels || []).map(function (_, i) { return i; });
    return [xs].concat(spec.series.map(function (s) { return s.values; }));
  }

  function draw(el, spec, name) {
    if (typeof uPlot === 'undefined') return;
    if (el._plot) el._plot.destroy();
    el.replaceChildren();
    el.setAttribute('role', 'img');
    el.setAttribute('aria-label', (name || spec.title) + ' (the figures are also on the page as text)');
    const plot = new uPlot(options(spec, widthOf(el)), data(spec), el);
    el._plot = plot;
    el.hidden = false;
    if (typeof ResizeObserver !== 'undefined' && !el._watched) {
      el._watched = true;
      new ResizeObserver(function () {
        if (el._plot) el._plot.setSize({ width: widthOf(el), height: HEIGHT });
      }).observe(el);
    }
  }

  function drawChart(el) {
    const source = el.querySelector('script[type="application/json"]');
    if (!source) return;
    let spec;
    try {
      spec = JSON.parse(source.textContent);
    } catch (e) {
      return;
    }
    let holder = el.querySelector('.chart-plot');
    if (!holder) {
      holder = document.createElement('div');
      holder.className = 'chart-plot';
      el.insertBefore(holder, el.querySelector('figcaption'));
    }
    // A chart with a caption of its own needs no title drawn above it.
    const captioned = el.querySelector('figcaption') !== null;
    draw(holder, captioned ? Object.assign({}, spec, { title: '' }) : spec, spec.title);
    el.dataset.drawn = 'true';
  }

  // ---- Plotting a query result ----

  function isNumber(v) { return typeof v === 'number' && Number.isFinite(v); }

  function resultChart(table, kind, xColumn) {
    const xi = table.columns.indexOf(xColumn);
    if (xi < 0) return null;
    const numeric = table.columns.map(function (_, i) {
      return i !== xi && table.rows.length > 0 && table.rows.every(function (r) { return r[i] === null || isNumber(r[i]); });
    });
    const ys = table.columns.map(function (c, i) { return numeric[i] ? i : -1; }).filter(function (i) { return i >= 0; });
    if (ys.length === 0) return null;
    const xs = table.rows.map(function (r) { return r[xi]; });
    const asTime = kind === 'line' && xs.every(function (v) { return typeof v === 'string' && ISO_DAY.test(v) && !Number.isNaN(Date.parse(v)); });
    let rows = table.rows;
    if (asTime) {
      rows = rows.slice().sort(function (a, b) { return Date.parse(a[xi]) - Date.parse(b[xi]); });
    }
    return {
      id: 'result',
      title: ys.map(function (i) { return table.columns[i]; }).join(', ') + ' by ' + xColumn,
      kind: kind,
      times: asTime ? rows.map(function (r) { return Math.floor(Date.parse(r[xi]) / 1000); }) : [],
      labels: asTime ? [] : rows.map(function (r) { return r[xi] === null ? '' : String(r[xi]); }),
      unit: '',
      series: ys.map(function (i) {
        return { label: table.columns[i], values: rows.map(function (r) { return r[i]; }) };
      }),
    };
  }

  function enhanceResult(el) {
    if (el.dataset.enhanced) return;
    const source = el.querySelector('script[type="application/json"]');
    if (!source) return;
    let table;
    try {
      table = JSON.parse(source.textContent);
    } catch (e) {
      return;
    }
    el.dataset.enhanced = 'true';
    const form = el.querySelector('[data-plot-form]');
    const holder = el.querySelector('[data-plot]');
    const message = el.querySelector('[data-plot-message]');
    if (!form || !holder) return;
    const kind = form.querySelector('[name="plot-kind"]');
    const x = form.querySelector('[name="plot-x"]');
    table.columns.forEach(function (c) {
      const o = document.createElement('option');
      o.value = c;
      o.textContent = c;
      x.appendChild(o);
    });
    form.hidden = false;
    function update() {
      if (kind.value === 'table') {
        if (holder._plot) { holder._plot.destroy(); holder._plot = null; }
        holder.replaceChildren();
        holder.hidden = true;
        if (message) message.textContent = '';
        return;
      }
      const spec = resultChart(table, kind.value, x.value);
      if (!spec) {
        holder.hidden = true;
        if (message) message.textContent = 'Nothing to plot: choose an x column and return at least one numeric column beside it.';
        return;
      }
      if (message) message.textContent = '';
      draw(holder, spec);
    }
    kind.addEventListener('change', update);
    x.addEventListener('change', update);
  }

  function enhance(root) {
    if (!(root instanceof Element || root instanceof Document)) return;
    const each = function (selector, fn) {
      if (root instanceof Element && root.matches(selector)) fn(root);
      root.querySelectorAll(selector).forEach(fn);
    };
    each('[data-chart]', drawChart);
    each('[data-result-plot]', enhanceResult);
  }

  window.wardenCharts = { resultChart: resultChart };
  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', function () { enhance(document); });
  } else {
    enhance(document);
  }
  document.addEventListener('htmx:load', function (event) { enhance(event.target); });
})();
