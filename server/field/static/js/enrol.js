// Enrolment: a new Ed25519 key on this phone, its proof over the one-time code, the
// server's answer kept in IndexedDB (docs/protocol.md, Devices). The code is typed, or
// read from the enrolment QR with the camera where the browser has BarcodeDetector,
// or arrives in the link (/field/#enrol=ENR-...).

import { utf8 } from "./codec.js";
import * as db from "./db.js";
import { once } from "./http.js";
import { t } from "./i18n.js";
import { generateKey, sign } from "./keys.js";
import { gridName, refreshMe } from "./me.js";
import { field, h, mount } from "./ui.js";

const CODE = /ENR(-[0-9A-Z]{4}){2,4}/i;

export async function enrol(code, name, prefer = "auto") {
  const key = await generateKey(prefer);
  const proof = await sign(key, utf8(code));
  const answer = await once("POST", "/devices/enroll", { code, public_key: key.publicKey, name, proof });
  if (answer.status !== 201) {
    const err = new Error(answer.status === 401 ? t("enrol_bad_code")
      : (answer.data && answer.data.error && answer.data.error.message) || `HTTP ${answer.status}`);
    err.status = answer.status;
    throw err;
  }
  const out = answer.data;
  const device = { device_id: out.device_id, token: out.token, person: out.person, role: out.role,
                   grids: out.grids, name, enrolled_at: new Date().toISOString(),
                   ledger_key: out.ledger_key || null };
  await db.write(["meta"], async (tx) => {
    await tx.put("meta", device, "device");
    await tx.put("meta", key, "key");
    await tx.put("meta", { device: out.device_id, wall: 0, counter: 0, offset: 0 }, "clock");
  });
  return device;
}

async function scan(input, button) {
  const video = h("video", { class: "scanner", playsinline: true, muted: true });
  button.after(video);
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } });
  } catch {
    video.remove();
    return;
  }
  video.srcObject = stream;
  await video.play();
  const detector = new window.BarcodeDetector({ formats: ["qr_code"] });
  const stop = () => { stream.getTracks().forEach((tr) => tr.stop()); video.remove(); };
  button.onclick = stop;
  button.textContent = t("enrol_scan_stop");
  for (let i = 0; i < 600 && video.isConnected; i++) {
    const found = await detector.detect(video).catch(() => []);
    const match = found.map((c) => CODE.exec(c.rawValue)).find(Boolean);
    if (match) {
      input.value = match[0].toUpperCase();
      break;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  stop();
}

export function enrolScreen(onDone) {
  const fromLink = CODE.exec(decodeURIComponent(location.hash));
  const code = h("input", { type: "text", id: "code", autocomplete: "off", autocapitalize: "characters",
                            spellcheck: "false", inputmode: "text", placeholder: "ENR-XXXX-XXXX-XXXX-XXXX",
                            value: fromLink ? fromLink[0].toUpperCase() : "" });
  const name = h("input", { type: "text", id: "device-name", maxlength: "200", value: t("enrol_name_default") });
  const message = h("p", { class: "message", role: "status" });
  const button = h("button", { type: "submit", class: "primary big" }, t("enrol_button"));
  const form = h("form", { class: "card", onsubmit: async (e) => {
    e.preventDefault();
    const value = code.value.trim().toUpperCase();
    if (!value) { message.textContent = t("error_required", { what: t("enrol_code") }); return; }
    if (!navigator.onLine) { message.textContent = t("enrol_offline"); return; }
    button.disabled = true;
    message.textContent = t("enrol_working");
    try {
      let dev = await enrol(value, name.value.trim() || t("enrol_name_default"));
      dev = await refreshMe(dev).catch(() => dev);
      const role = t(`role_${dev.role}`);
      mount(h("section", { class: "card done" },
        h("h1", {}, t("enrol_done")),
        h("p", { class: "who" }, dev.personName ? t("enrol_who", { name: dev.personName, role }) : t("enrol_id", { id: dev.person, role })),
        h("p", {}, t("enrol_grids", { grids: dev.grids.map((g) => gridName(dev, g)).join("、") })),
        h("button", { class: "primary big", id: "start", onclick: () => onDone(dev) }, t("enrol_start"))));
    } catch (err) {
      message.textContent = err.status ? err.message : t("enrol_offline");
      button.disabled = false;
    }
  } },
  h("h1", {}, t("enrol_title")),
  h("p", { class: "help" }, t("enrol_help")),
  field(t("enrol_code"), code),
  field(t("enrol_name"), name),
  button, message);
  if ("BarcodeDetector" in window && navigator.mediaDevices) {
    const scanButton = h("button", { type: "button", class: "secondary big" }, t("enrol_scan"));
    scanButton.onclick = () => scan(code, scanButton);
    form.insertBefore(scanButton, button);
  }
  mount(form);
}
