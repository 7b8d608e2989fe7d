// JSON over HTTP to the site itself, with the session cookie and, for writes, Django's CSRF token.
function csrfToken() {
  return (document.cookie.match(/(?:^|; )csrftoken=([^;]+)/) || [])[1] || "";
}

export function getJson(url) {
  return fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
}

export function postJson(url, body) {
  return fetch(url, {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": csrfToken() },
    body: JSON.stringify(body),
  });
}

// A multipart form (e.g. a picture to check) to the site itself, answered with JSON.
export function postForm(url, form) {
  return fetch(url, {
    method: "POST",
    credentials: "same-origin",
    headers: { "Accept": "application/json", "X-CSRFToken": csrfToken() },
    body: form,
  });
}
