// Sliders: a slider always shows a position, so its starting one is not an answer. Each slider has
// an "untouched" checkbox, ticked until the participant moves it; here it is unticked on the first
// move and kept out of sight, and the number beside the slider reads "not answered yet" until then.
document.querySelectorAll('input[type="range"]').forEach((slider) => {
  const question = slider.closest("fieldset") || slider.parentElement;
  const output = question.querySelector("output.slider-value");
  const marker = question.querySelector('.slider-untouched input[type="checkbox"]');
  const show = () => {
    if (!output) { return; }
    output.textContent = marker && marker.checked ? "not answered yet" : slider.value;
  };
  const moved = () => {
    if (marker) { marker.checked = false; }
    slider.classList.remove("untouched");
    show();
  };
  if (marker) {
    marker.closest("label").hidden = true;
    if (marker.checked) { slider.classList.add("untouched"); }
  }
  slider.addEventListener("input", moved);
  slider.addEventListener("change", moved);
  show();
});

// "Prefer not to say" answers the question: its other inputs are set aside while it is ticked.
document.querySelectorAll('.prefer-not input[type="checkbox"]').forEach((preferNot) => {
  const question = preferNot.closest("fieldset");
  const inputs = [...question.querySelectorAll("input, textarea, select")].filter(
    (input) => input !== preferNot && !input.closest(".slider-untouched"),
  );
  const apply = () => { inputs.forEach((input) => { input.disabled = preferNot.checked; }); };
  preferNot.addEventListener("change", apply);
  apply();
});
