// Run by tests/field/test_anchors_in_page.py inside the field app's page.
(async (v) => {
  const a = await import("/field/static/js/anchors.js");
  const outcome = async (fn) => { try { await fn(); return "ok"; } catch (e) { return String(e.message); } };
  const tree = v.rfc6962_tree;
  const out = { proofs: [], refused: {} };
  for (const p of tree.consistency) {
    out.proofs.push(await outcome(() => a.verifyConsistency(p.from, p.to, p.path,
      tree.roots[String(p.from)], tree.roots[String(p.to)])));
  }
  const lt = v.ledger_tree;
  out.ledger = await outcome(() => a.verifyConsistency(1, 2, lt.consistency_1_to_2,
    lt.root_size_1, lt.root_size_2));
  const p = tree.consistency.find((c) => c.from === 3 && c.to === 7);
  out.refused.rollback = await outcome(() => a.verifyConsistency(7, 3, [], tree.roots["7"], tree.roots["3"]));
  out.refused.rewritten = await outcome(() => a.verifyConsistency(3, 7, p.path, tree.roots["4"], tree.roots["7"]));
  out.refused.forged = await outcome(() => a.verifyConsistency(3, 7,
    [...p.path.slice(0, -1), tree.roots["1"]], tree.roots["3"], tree.roots["7"]));
  out.refused.same_size = await outcome(() => a.verifyConsistency(5, 5, [], tree.roots["5"], tree.roots["6"]));
  out.from_empty = await outcome(() => a.verifyConsistency(0, 8, [], tree.roots["0"], tree.roots["8"]));
  const k = v.key_endorsement;
  const keys = [k.k1, { key_id: "k2", public_key: k.k2.public_key, created_at: k.k2.created_at,
                        endorsement: k.k2.endorsement }];
  const pinned = { key_id: "k1", public_key: k.k1.public_key };
  out.trusted = await a.trustedKeys(keys, pinned);
  out.refused.unendorsed = await outcome(() => a.trustedKeys([k.k1, { ...keys[1], endorsement: null }], pinned));
  out.refused.other_pin = await outcome(() => a.trustedKeys(keys, { key_id: "k1", public_key: k.k2.public_key }));
  out.checkpoint = await outcome(() => a.verifyCheckpoint(lt.checkpoint, out.trusted));
  out.refused.checkpoint = await outcome(() => a.verifyCheckpoint({ ...lt.checkpoint, root: lt.root_size_1 }, out.trusted));
  return out;
})
