// Tiny DOM helpers: no framework, no innerHTML with data (text is always text).

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) el.addEventListener(name.slice(2), value);
    else if (name === "class") el.className = value;
    else if (name === "value") el.value = value;
    else el.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export function mount(el) {
  const main = document.getElementById("main");
  main.replaceChildren(el);
  window.scrollTo(0, 0);
}

let toastTimer = null;
export function toast(text, kind = "ok") {
  const el = document.getElementById("toast");
  el.textContent = text;
  el.className = `toast show ${kind}`;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { el.className = "toast"; }, 3500);
}

export function field(label, input, help = null) {
  return h("label", { class: "field" }, h("span", { class: "label" }, label), input,
    help ? h("span", { class: "help" }, help) : null);
}

/** Chips: common values offered, tapping toggles; free text adds one. */
export function chips(common, selected, addLabel, addButton) {
  const chosen = new Set(selected);
  const box = h("div", { class: "chips" });
  const render = () => {
    const all = [...new Set([...common, ...chosen])];
    box.replaceChildren(...all.map((value) => h("button", {
      type: "button", class: chosen.has(value) ? "chip on" : "chip",
      "aria-pressed": chosen.has(value) ? "true" : "false",
      onclick: () => { chosen.has(value) ? chosen.delete(value) : chosen.add(value); render(); },
    }, value)));
  };
  render();
  const input = h("input", { type: "text", maxlength: "100", placeholder: addLabel, class: "chip-input" });
  const add = () => {
    const value = input.value.trim();
    if (value) { chosen.add(value); input.value = ""; render(); }
  };
  input.addEventListener("keydown", (e) => { if (e.key === "Enter") { e.preventDefault(); add(); } });
  const el = h("div", {}, box, h("div", { class: "row" }, input,
    h("button", { type: "button", class: "small", onclick: add }, addButton)));
  return { el, values: () => [...chosen] };
}
