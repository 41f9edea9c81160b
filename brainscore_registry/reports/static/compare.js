// The compare page: two models side by side from the scores embedded in the page (no request).
// The choice is kept in the address (#a=...&b=...), so a comparison can be linked to.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("compare-data").textContent);
  var selectA = document.getElementById("model-a");
  var selectB = document.getElementById("model-b");
  var body = document.querySelector("#comparison tbody");

  data.models.forEach(function (model) {
    [selectA, selectB].forEach(function (select) {
      var option = document.createElement("option");
      option.value = model;
      option.textContent = model;
      select.appendChild(option);
    });
  });

  function fromHash() {
    var params = new URLSearchParams(window.location.hash.slice(1));
    if (params.has("a") && data.models.indexOf(params.get("a")) !== -1) { selectA.value = params.get("a"); }
    if (params.has("b") && data.models.indexOf(params.get("b")) !== -1) { selectB.value = params.get("b"); }
    else if (data.models.length > 1 && selectB.value === selectA.value) {
      selectB.value = data.models[data.models[0] === selectA.value ? 1 : 0];
    }
  }

  function cell(row, text, className) {
    var td = document.createElement("td");
    td.textContent = text;
    if (className) { td.className = className; }
    row.appendChild(td);
  }

  function score(entry) {
    return entry ? entry[0].toFixed(4) + " ± " + entry[1].toFixed(4) : "—";
  }

  function render() {
    var a = data.scores[selectA.value] || {};
    var b = data.scores[selectB.value] || {};
    body.textContent = "";
    data.columns.forEach(function (column) {
      var row = document.createElement("tr");
      row.setAttribute("data-column", column);
      var x = a[column], y = b[column];
      cell(row, column);
      cell(row, score(x), x ? "" : "missing");
      cell(row, score(y), y ? "" : "missing");
      if (x && y) {
        var difference = x[0] - y[0];
        var combined = Math.sqrt(x[1] * x[1] + y[1] * y[1]);
        cell(row, difference.toFixed(4));
        cell(row, combined.toFixed(4));
        cell(row, Math.abs(difference) > combined ? "yes" : "no");
      } else {
        cell(row, "—", "missing"); cell(row, "—", "missing"); cell(row, "—", "missing");
      }
      body.appendChild(row);
    });
    var hash = "a=" + encodeURIComponent(selectA.value) + "&b=" + encodeURIComponent(selectB.value);
    if (window.location.hash.slice(1) !== hash) { history.replaceState(null, "", "#" + hash); }
  }

  fromHash();
  selectA.addEventListener("change", render);
  selectB.addEventListener("change", render);
  window.addEventListener("hashchange", function () { fromHash(); render(); });
  render();
}());
