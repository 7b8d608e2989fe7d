// A page's configuration: the server writes it into the page with Django's json_script
// (screenings/web/client.py builds it), so the scripts hold no copy of a server rule.
export function readConfig(id) {
  const element = document.getElementById(id);
  if (!element) {
    throw new Error("This page has no configuration #" + id + ".");
  }
  return JSON.parse(element.textContent);
}
