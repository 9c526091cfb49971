// Create invoice: show spare line-item rows one at a time.
document.addEventListener("DOMContentLoaded", () => {
  const button = document.getElementById("add-line");
  if (!button) return;
  const update = () => {
    button.hidden = !document.querySelector("#invoice-lines .billing-line-spare");
  };
  button.addEventListener("click", () => {
    const row = document.querySelector("#invoice-lines .billing-line-spare");
    if (row) {
      row.classList.remove("billing-line-spare");
      const input = row.querySelector("input");
      if (input) input.focus();
    }
    update();
  });
  update();
});
