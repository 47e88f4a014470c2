// Programme: small progressive enhancements. No inline scripts anywhere (strict CSP).
document.addEventListener("DOMContentLoaded", () => {
  // Auto-submitting filter selects outside htmx (no-JS users have a submit button).
  document.querySelectorAll("[data-autosubmit]").forEach((el) => {
    el.addEventListener("change", () => el.form && el.form.requestSubmit());
  });
});

// Charts: a Vega-Lite spec sits in <template id="…"> next to <div data-vl-spec="…"> (the
// chart() macro in templates/reports/_macros.html writes both); the vega scripts are loaded
// only by pages with charts.
// Numbers and dates follow the page language (<html lang>): the d3 format and time locale
// definitions are static JSON files in static/locale/.
const STATIC_BASE = (document.currentScript && document.currentScript.src.replace(/app\.js.*$/, "")) || "/static/";
let chartLocale = null;
function loadChartLocale() {
  if (!chartLocale) {
    const lang = (document.documentElement.lang || "en").toLowerCase().startsWith("fr") ? "fr-FR" : "en-GB";
    const load = (kind) =>
      fetch(`${STATIC_BASE}locale/${lang}.${kind}.json`)
        .then((response) => (response.ok ? response.json() : undefined))
        .catch(() => undefined);
    chartLocale = Promise.all([load("format"), load("time")]);
  }
  return chartLocale;
}

function specIsEmpty(spec) {
  // A chart without data is not drawn (Vega would warn "Infinite extent"); the table or
  // empty-state message beside it says there is nothing yet.
  const data = spec.data;
  if (data && Array.isArray(data.values)) return data.values.length === 0;
  if (Array.isArray(spec.datasets)) return false;
  if (spec.datasets && typeof spec.datasets === "object") {
    return Object.values(spec.datasets).every((values) => Array.isArray(values) && values.length === 0);
  }
  return false;
}

function chartTitle(el, spec) {
  const title = spec.title;
  const text = title && typeof title === "object" ? title.text : title;
  return el.getAttribute("aria-label") || (Array.isArray(text) ? text.join(" ") : text) || spec.description || "";
}

function labelChart(el, spec) {
  // The drawing is one image named by the chart's title; its marks are not read one by one
  // (the table beside it gives the figures).
  const drawing = el.querySelector("svg, canvas");
  if (!drawing) return;
  drawing.setAttribute("role", "img");
  drawing.setAttribute("aria-label", chartTitle(el, spec));
  drawing.querySelectorAll("[role], [aria-label]").forEach((node) => {
    node.removeAttribute("role");
    node.removeAttribute("aria-roledescription");
    node.removeAttribute("aria-label");
    node.setAttribute("aria-hidden", "true");
  });
  el.removeAttribute("role");
}

function renderCharts() {
  if (typeof window.vegaEmbed !== "function") return;
  const pending = Array.from(document.querySelectorAll("[data-vl-spec]")).filter(
    (el) => !el.dataset.vlRendered && document.getElementById(el.dataset.vlSpec),
  );
  if (!pending.length) return;
  pending.forEach((el) => (el.dataset.vlRendered = "1"));
  loadChartLocale().then(([formatLocale, timeFormatLocale]) => {
    pending.forEach((el) => {
      const source = document.getElementById(el.dataset.vlSpec);
      // A <template>, so that it survives htmx swaps (htmx strips every <script> from swapped
      // content when allowScriptTags is false).
      const spec = JSON.parse(source.content.textContent);
      // Vega names the drawing after the spec's description (aria-label of the <svg>, kept
      // on every re-render): the chart's title, as the table beside it.
      if (!spec.description) spec.description = chartTitle(el, spec);
      if (specIsEmpty(spec)) {
        el.hidden = true;
        return;
      }
      const options = {
        ast: true,
        actions: false,
        defaultStyle: false,
        renderer: "svg",
        tooltip: { disableDefaultStyle: true },
      };
      if (formatLocale) options.formatLocale = formatLocale;
      if (timeFormatLocale) options.timeFormatLocale = timeFormatLocale;
      window
        .vegaEmbed(el, spec, options)
        .then(() => labelChart(el, spec))
        .catch((error) => {
          el.hidden = true; // the table next to the chart still shows the figures
          console.error("chart", el.dataset.vlSpec, error);
        });
    });
  });
}
document.addEventListener("DOMContentLoaded", renderCharts);
document.addEventListener("htmx:afterSettle", renderCharts);

// "Print" buttons (the synthesis): no inline handlers under the CSP.
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-print]");
  if (button) window.print();
});

// Entry grid (KPI measurements): arrow keys move between cells, Enter goes down.
// Left/right leave an input only when the caret is at its start/end.
document.addEventListener("keydown", (event) => {
  const input = event.target;
  if (!(input instanceof HTMLInputElement) || !input.dataset.cell) return;
  const table = input.closest("[data-grid]");
  if (!table) return;
  const inputs = Array.from(table.querySelectorAll("input[data-cell]"));
  const row = input.closest("tr");
  const rowInputs = Array.from(row.querySelectorAll("input[data-cell]"));
  const column = rowInputs.indexOf(input);
  let target = null;
  if (event.key === "ArrowDown" || event.key === "Enter" || event.key === "ArrowUp") {
    const rows = Array.from(table.querySelectorAll("tbody tr"));
    const step = event.key === "ArrowUp" ? -1 : 1;
    const next = rows[rows.indexOf(row) + step];
    if (next) target = next.querySelectorAll("input[data-cell]")[column] || null;
  } else if (event.key === "ArrowRight" && input.selectionStart === input.value.length) {
    target = inputs[inputs.indexOf(input) + 1] || null;
  } else if (event.key === "ArrowLeft" && input.selectionEnd === 0) {
    target = inputs[inputs.indexOf(input) - 1] || null;
  } else {
    return;
  }
  event.preventDefault();
  if (target) {
    target.focus(); // leaving the cell saves it (focusout below)
    target.select();
  }
});

// A grid cell is saved once, with its value and n together, when the focus leaves the
// cell after a change (moving from value to n sends nothing). The form's hx-trigger is
// the "cell-save" event. An emptied cell without a stored value sends nothing either.
document.addEventListener("input", (event) => {
  const form = event.target.closest && event.target.closest("[data-cell-form]");
  if (form && event.target.dataset.cell) form.dataset.dirty = "1";
});
document.addEventListener("focusout", (event) => {
  const form = event.target.closest && event.target.closest("[data-cell-form]");
  if (!form || form.dataset.dirty !== "1") return;
  if (event.relatedTarget && form.contains(event.relatedTarget)) return;
  const value = form.querySelector("[data-cell=value]").value.trim();
  const n = form.querySelector("[data-cell=n]").value.trim();
  if (!value && !n && !("current" in form.dataset)) return;
  delete form.dataset.dirty;
  htmx.trigger(form, "cell-save");
});

// Deployment checklists: a stale save (409) or a refused one (422) comes back with the
// element's current state and the message; swap it in instead of dropping it.
document.addEventListener("htmx:beforeSwap", (event) => {
  const status = event.detail.xhr.status;
  if ((status === 409 || status === 422) && event.detail.elt.closest("[data-swap-errors]")) {
    event.detail.shouldSwap = true;
    event.detail.isError = false;
  }
});

// A part of a form that only matters for one choice of a select (the site form's
// "New region…"): shown by default (no-JS users see it), hidden while another option is
// chosen. <fieldset data-reveal-for="select id" data-reveal-value="value">.
document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("[data-reveal-for]").forEach((part) => {
    const select = document.getElementById(part.dataset.revealFor);
    if (!select) return;
    const update = () => {
      part.hidden = select.value !== part.dataset.revealValue;
    };
    select.addEventListener("change", update);
    update();
  });
});

// Tables wider than the screen scroll inside their own container: the container is
// reachable with the keyboard (tabindex) and named after the table's caption or the
// heading above it, so a keyboard or screen-reader user can scroll it too.
function labelScrollRegions(root) {
  const phone = window.matchMedia("(max-width: 599.98px)").matches;
  const boxes = Array.from((root || document).querySelectorAll(".table-scroll"));
  if (phone) {
    // A table that scrolls by itself (CSS below 600 px) joins the tab order only when it
    // does scroll; an entry grid keeps its own keyboard moves.
    (root || document).querySelectorAll("main table").forEach((table) => {
      if (table.closest(".table-scroll") || table.closest("[data-grid]") || table.matches("[data-grid]")) return;
      if (table.scrollWidth > table.clientWidth + 1) boxes.push(table);
    });
  }
  boxes.forEach((box) => {
    if (box.hasAttribute("tabindex")) return;
    let name = box.getAttribute("aria-label");
    if (!name) {
      const caption = box.querySelector("caption");
      let heading = null;
      for (let node = box.previousElementSibling; node && !heading; node = node.previousElementSibling) {
        if (/^H[1-6]$/.test(node.tagName)) heading = node;
      }
      if (!heading && box.parentElement) heading = box.parentElement.closest("section, article, main").querySelector("h1, h2, h3, h4");
      name = ((caption && caption.textContent) || (heading && heading.textContent) || document.title).trim();
    }
    box.setAttribute("tabindex", "0");
    box.setAttribute("role", "region");
    box.setAttribute("aria-label", name.replace(/\s+/g, " "));
  });
}
document.addEventListener("DOMContentLoaded", () => labelScrollRegions(document));
document.addEventListener("htmx:afterSettle", (event) => labelScrollRegions(event.target));
