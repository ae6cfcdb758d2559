// Who this phone's person is and what their role may do, as GET /me says (docs/protocol.md):
// the server reads ``may`` from its own push rules, so the app offers only what the
// server would accept. A phone that has not asked yet (enrolled by an older app, not
// synced since) is offered every screen, as before.

import * as db from "./db.js";
import { once } from "./http.js";

/** Ask the server and keep the answer with the device; resolves with the device. */
export async function refreshMe(device) {
  const answer = await once("GET", "/me", undefined, device.token);
  if (answer.status !== 200) return device;
  const { name: personName, grids, grid_names: gridNames, may: allowed } = answer.data;
  // names of grids left behind stay known: a refused change may still name one
  const updated = { ...device, personName, grids, gridNames: { ...device.gridNames, ...gridNames }, may: allowed };
  await db.write(["meta"], (tx) => tx.put("meta", updated, "device"));
  return updated;
}

export function may(device, what) {
  return !what || !device.may || device.may.includes(what);
}

export function gridName(device, id) {
  return (device.gridNames && device.gridNames[id]) || id;
}
