// The admin's question inline: each question shows only the fields of its kind, so a screening
// with several questions stays a page one can read. Every field is still there (and still
// submitted) when the script does not run.
const FIELDS_OF_KIND = {
  text: [],
  single: ["choices"],
  multiple: ["choices"],
  likert5: ["low_label", "high_label"],
  likert7: ["low_label", "high_label"],
  number: ["min_value", "max_value"],
  slider: ["low_label", "high_label"],
};
const KIND_FIELDS = ["choices", "min_value", "max_value", "low_label", "high_label"];

function showFieldsOfKind(block) {
  const kind = block.querySelector('select[name$="-kind"]');
  if (!kind) return;
  const wanted = new Set(FIELDS_OF_KIND[kind.value] || KIND_FIELDS);
  for (const name of KIND_FIELDS) {
    const input = block.querySelector(`[name$="-${name}"]`);
    const holder = input && (input.closest(".fieldBox") || input.closest(".form-row"));
    if (!holder) continue;
    // A field holding a value stays visible, so nothing typed is ever hidden from the organizer.
    const hasValue = input.value.trim() !== "";
    holder.hidden = !wanted.has(name) && !hasValue;
  }
}

function setUp() {
  for (const block of document.querySelectorAll(".question-kinds .inline-related")) showFieldsOfKind(block);
  document.addEventListener("change", (event) => {
    if (event.target.matches('.question-kinds select[name$="-kind"]')) {
      showFieldsOfKind(event.target.closest(".inline-related"));
    }
  });
  // Questions added with "Add another question" arrive through Django's formset event.
  document.addEventListener("formset:added", (event) => {
    const block = event.target.closest ? event.target.closest(".inline-related") || event.target : event.target;
    showFieldsOfKind(block);
  });
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", setUp);
else setUp();
