// Programme: small progressive enhancements. No inline scripts anywhere (strict CSP).
document.addEventListener("DOMContentLoaded", () => {
  // Auto-submitting filter selects outside htmx (no-JS users have a submit button).
  document.querySelectorAll("[data-autosubmit]").forEach((el) => {
    el.addEventListener("change", () => el.form && el.form.requestSubmit());
  });
});

// Charts: a Vega-Lite spec sits in <script type="application/json" id="…"> (or <template>)
// next to <div data-vl-spec="…">; the vega scripts are loaded only by pages with charts.
function renderCharts() {
  if (typeof window.vegaEmbed !== "function") return;
  document.querySelectorAll("[data-vl-spec]").forEach((el) => {
    if (el.dataset.vlRendered) return;
    const source = document.getElementById(el.dataset.vlSpec);
    if (!source) return;
    el.dataset.vlRendered = "1";
    // <script type="application/json"> on full pages; <template> inside htmx fragments
    // (htmx strips every <script> from swapped content when allowScriptTags is false).
    const text = source.tagName === "TEMPLATE" ? source.content.textContent : source.textContent;
    const spec = JSON.parse(text);
    window
      .vegaEmbed(el, spec, {
        ast: true,
        actions: false,
        defaultStyle: false,
        tooltip: { disableDefaultStyle: true },
      })
      .catch((error) => {
        el.hidden = true; // the table next to the chart still shows the figures
        console.error("chart", el.dataset.vlSpec, error);
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
