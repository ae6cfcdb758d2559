"""The protocol vectors inside the page, through both signing paths: WebCrypto Ed25519
(non-extractable key) and the vendored @noble/ed25519. Canonical bytes, change
signature, enrolment proof, rules hash, ledger entry hashes and signatures, the
checkpoint signature and the HLC order must come out byte for byte."""

from __future__ import annotations

import pytest

RUN = """async (v) => {
  const codec = await import("/field/static/js/codec.js");
  const keys = await import("/field/static/js/keys.js");
  const clock = await import("/field/static/js/clock.js");
  const seed = (hex) => codec.hexToBytes(hex);
  const out = { webcrypto: await keys.webCryptoHasEd25519(), paths: {} };
  const without = (o, ...names) =>
    Object.fromEntries(Object.entries(o).filter(([k]) => !names.includes(k)));
  for (const kind of ["webcrypto", "noble"]) {
    const device = await keys.keyFromSeed(seed(v.device_key.private_seed_hex), kind);
    const server = await keys.keyFromSeed(seed(v.server_key.private_seed_hex), kind);
    const r = {};
    r.device_public = device.publicKey;
    r.server_public = server.publicKey;
    r.canonical = codec.canonical(v.change.unsigned);
    r.change_sig = await keys.sign(device, codec.canonicalBytes(v.change.unsigned));
    r.proof = await keys.sign(device, codec.utf8(v.enrolment_proof.code));
    r.entries = [];
    for (const e of v.ledger) {
      const body = codec.canonicalBytes(without(e, "hash", "sig"));
      r.entries.push({ hash: await codec.sha256Hex(body), sig: await keys.sign(server, body),
                       verifies: await keys.verify(v.server_key.public_key, body, e.sig) });
    }
    r.checkpoint_sig = await keys.sign(server, codec.canonicalBytes(without(v.checkpoint, "sig")));
    if (kind === "webcrypto") {
      r.extractable = device.privateKey.extractable;
    }
    out.paths[kind] = r;
  }
  out.rules_hash = await codec.sha256Hex(codec.canonicalBytes(v.rules.object));
  const shuffled = [...v.hlc_order].reverse();
  out.hlc_sorted = shuffled.sort();
  out.hlc_parsed = v.hlc_order.map((s) => clock.formatHlc(...clock.parseHlc(s)));
  out.change_verifies = await keys.verify(v.device_key.public_key,
    codec.canonicalBytes(v.change.unsigned), v.change.sig);
  out.tampered_verifies = await keys.verify(v.device_key.public_key,
    codec.canonicalBytes({ ...v.change.unsigned, base: 1 }), v.change.sig);
  let float = null;
  try { codec.canonical({ n: 1.5 }); } catch (e) { float = String(e); }
  out.float_refused = float;
  return out;
}"""


@pytest.fixture(scope="module")
def results(field_server, new_phone_module, vectors):
    page = new_phone_module().new_page()
    page.goto(field_server.app_url)
    return page.evaluate(RUN, vectors)


@pytest.fixture(scope="module")
def new_phone_module(browser):
    contexts = []

    def factory():
        context = browser.new_context()
        contexts.append(context)
        return context

    yield factory
    for context in contexts:
        context.close()


def test_chromium_here_has_webcrypto_ed25519(results):
    assert results["webcrypto"] is True
    assert results["paths"]["webcrypto"]["extractable"] is False


@pytest.mark.parametrize("kind", ["webcrypto", "noble"])
def test_vectors_reproduce_byte_for_byte(results, vectors, kind):
    r = results["paths"][kind]
    assert r["device_public"] == vectors["device_key"]["public_key"]
    assert r["server_public"] == vectors["server_key"]["public_key"]
    assert r["canonical"] == vectors["change"]["canonical_utf8"]
    assert r["change_sig"] == vectors["change"]["sig"]
    assert r["proof"] == vectors["enrolment_proof"]["proof"]
    assert [e["hash"] for e in r["entries"]] == [e["hash"] for e in vectors["ledger"]]
    assert [e["sig"] for e in r["entries"]] == [e["sig"] for e in vectors["ledger"]]
    assert all(e["verifies"] for e in r["entries"])
    assert r["checkpoint_sig"] == vectors["checkpoint"]["sig"]


def test_hashes_order_and_refusals(results, vectors):
    assert results["rules_hash"] == vectors["rules"]["hash"]
    assert results["hlc_sorted"] == vectors["hlc_order"]
    assert results["hlc_parsed"] == vectors["hlc_order"]
    assert results["change_verifies"] is True
    assert results["tampered_verifies"] is False
    assert "not a protocol integer" in results["float_refused"]
