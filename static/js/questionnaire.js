// Show each slider's number beside it, so participants see what they picked.
document.querySelectorAll('input[type="range"]').forEach((slider) => {
  const output = slider.parentElement.querySelector("output.slider-value");
  const show = () => { if (output) { output.textContent = slider.value; } };
  slider.addEventListener("input", show);
  show();
});
