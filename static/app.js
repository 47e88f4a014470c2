// Programme: small progressive enhancements. No inline scripts anywhere (strict CSP).
document.addEventListener("DOMContentLoaded", () => {
  // Auto-submitting filter selects outside htmx (no-JS users have a submit button).
  document.querySelectorAll("[data-autosubmit]").forEach((el) => {
    el.addEventListener("change", () => el.form && el.form.requestSubmit());
  });
});
