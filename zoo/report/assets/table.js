// The model index: sort by any column and filter by task, family, weights and text. Plain JavaScript, no
// library, works from file:// as well as over HTTP.
(function () {
  "use strict";
  const table = document.getElementById("models");
  if (!table) { return; }
  const body = table.tBodies[0];
  const rows = Array.from(body.rows);
  const get = (id) => document.getElementById(id);
  const task = get("f-task"), family = get("f-family"), weights = get("f-weights"), text = get("f-text");

  function matches(row) {
    const w = row.dataset.weights;
    return (!task.value || row.dataset.task === task.value)
      && (!family.value || row.dataset.family === family.value)
      && (!weights.value || (weights.value === "any" ? w !== "none" : w === weights.value))
      && (!text.value || row.textContent.toLowerCase().includes(text.value.trim().toLowerCase()));
  }

  function filter() {
    let shown = 0;
    for (const row of rows) {
      row.hidden = !matches(row);
      if (!row.hidden) { shown += 1; }
    }
    get("shown").textContent = shown + " of " + rows.length + " models";
  }

  function sortBy(th, index) {
    const ascending = th.getAttribute("aria-sort") !== "ascending";
    const numeric = th.dataset.type === "num";
    const value = (row) => {
      const cell = row.cells[index];
      const raw = cell.dataset.sort !== undefined ? cell.dataset.sort : cell.textContent.trim();
      return numeric ? (raw === "" ? null : parseFloat(raw)) : raw.toLowerCase();
    };
    const sorted = rows.slice().sort((a, b) => {
      const x = value(a), y = value(b);
      if (x === null || x === "") { return (y === null || y === "") ? 0 : 1; }  // empty cells last, either way
      if (y === null || y === "") { return -1; }
      const order = x < y ? -1 : (x > y ? 1 : 0);
      return ascending ? order : -order;
    });
    for (const other of table.tHead.rows[0].cells) { other.removeAttribute("aria-sort"); }
    th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    for (const row of sorted) { body.appendChild(row); }
  }

  Array.from(table.tHead.rows[0].cells).forEach((th, i) => {
    th.classList.add("sortable");
    th.addEventListener("click", () => sortBy(th, i));
  });
  for (const el of [task, family, weights]) { el.addEventListener("change", filter); }
  text.addEventListener("input", filter);
  filter();
})();
