// The new-user form's preview as you type: the server renders it with the same templates code
// as "Preview" and `ixidir user add` (GET /users/preview); without JavaScript the button does.
"use strict";
(function () {
  const form = document.querySelector('form[action="/users/new"]');
  if (!form) return;
  const names = ["given_name", "surname", "mail", "company"];
  const shown = {
    display_name: document.getElementById("preview-display-name"),
    uid: document.getElementById("preview-uid"),
    mail: document.getElementById("preview-mail"),
  };
  let timer = null;
  let asked = 0;
  async function refresh() {
    const query = new URLSearchParams();
    for (const name of names) query.set(name, form.elements[name].value);
    const mine = ++asked;
    const answer = await fetch("/users/preview?" + query, { credentials: "same-origin" });
    if (!answer.ok || mine !== asked) return;
    const preview = await answer.json();
    for (const key of Object.keys(shown)) shown[key].textContent = preview[key] || "";
  }
  form.addEventListener("input", function (event) {
    if (!names.includes(event.target.name)) return;
    clearTimeout(timer);
    timer = setTimeout(refresh, 250);
  });
})();
