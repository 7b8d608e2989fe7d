// Free-text answers on the report page: a search box above each list hides the answers that do not
// contain what is typed (case-insensitive; the participant's name counts too) and says how many show.

function filterList(input) {
  const name = input.dataset.filterFor;
  const list = document.getElementById(name);
  const count = document.querySelector(`[data-filter-count="${name}"]`);
  if (!list) return;
  const wanted = input.value.trim().toLocaleLowerCase();
  const items = [...list.querySelectorAll("li")];
  let shown = 0;
  for (const item of items) {
    const matches = !wanted || item.textContent.toLocaleLowerCase().includes(wanted);
    item.hidden = !matches;
    if (matches) shown += 1;
  }
  if (count) count.textContent = wanted ? `${shown} of ${items.length} answers` : "";
}

for (const input of document.querySelectorAll("input[data-filter-for]")) {
  input.addEventListener("input", () => filterList(input));
}
