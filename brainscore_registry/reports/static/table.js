// The leaderboard table: sort by any column (click its header; missing cells always last) and filter
// the models by name. Plain JavaScript, shipped with the site: no library, no network.
(function () {
  "use strict";
  var table = document.getElementById("board");
  if (!table) { return; }
  var body = table.tBodies[0];
  var headers = table.tHead.rows[0].cells;
  var filter = document.getElementById("filter");
  var count = document.getElementById("shown-count");

  function key(row, index, kind) {
    var cell = row.cells[index];
    if (kind === "text") { return cell.textContent.trim().toLowerCase(); }
    var value = cell.getAttribute("data-value");
    return value === "" || value === null ? null : parseFloat(value);
  }

  function sortBy(index) {
    var header = headers[index];
    var kind = header.getAttribute("data-kind") || "number";
    var descending = !header.classList.contains("sorted-desc") && kind === "number" ||
      header.classList.contains("sorted-asc");
    for (var h = 0; h < headers.length; h++) { headers[h].classList.remove("sorted-asc", "sorted-desc"); }
    header.classList.add(descending ? "sorted-desc" : "sorted-asc");
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = key(a, index, kind), y = key(b, index, kind);
      if (x === null && y === null) { return 0; }
      if (x === null) { return 1; }
      if (y === null) { return -1; }
      if (x < y) { return descending ? 1 : -1; }
      if (x > y) { return descending ? -1 : 1; }
      return 0;
    });
    rows.forEach(function (row) { body.appendChild(row); });
  }

  function applyFilter() {
    var words = filter.value.trim().toLowerCase();
    var shown = 0;
    Array.prototype.forEach.call(body.rows, function (row) {
      var visible = words === "" || row.getAttribute("data-name").indexOf(words) !== -1;
      row.hidden = !visible;
      if (visible) { shown += 1; }
    });
    count.textContent = shown + " of " + body.rows.length + " models";
  }

  Array.prototype.forEach.call(headers, function (header, index) {
    header.addEventListener("click", function (event) {
      if (event.target.tagName === "A") { return; }
      sortBy(index);
    });
  });
  filter.addEventListener("input", applyFilter);
  applyFilter();
}());
