// IndexedDB: everything the phone keeps (docs/field-app.md, "Local data").
//   meta       key → value: device, key, cursor, clock, server_hlc, rules, last_sync ...
//   records    {k: "<collection>/<id>", collection, id, version, hlc, fields, deleted,
//               pending, server?}: the server's state with this phone's pending
//               changes on top; ``server`` (present while pending > 0) is the server's
//               state alone (null when the server has not got the record yet)
//   outbox     {seq, k, op, change, attempted, restamps, at}: signed changes, in order
//   rejected   {op, code, message, change, at}: changes the server refused
//   conflicts  {op, k, change, version, at}: changes the server took as "conflict"

const NAME = "gridsync-field";
const VERSION = 1;
let opened = null;

export function open() {
  if (!opened) {
    opened = new Promise((resolve, reject) => {
      const req = indexedDB.open(NAME, VERSION);
      req.onupgradeneeded = () => {
        const db = req.result;
        db.createObjectStore("meta");
        db.createObjectStore("records", { keyPath: "k" }).createIndex("collection", "collection");
        db.createObjectStore("outbox", { keyPath: "seq", autoIncrement: true })
          .createIndex("k", "k");
        db.createObjectStore("rejected", { keyPath: "op" });
        db.createObjectStore("conflicts", { keyPath: "op" });
      };
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
      req.onblocked = () => reject(new Error("close the app's other tabs and reload"));
    });
  }
  return opened;
}

export function key(collection, id) {
  return `${collection}/${id}`;
}

function done(request) {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

/** Run ``fn(tx)`` in one transaction over ``stores``; resolves with fn's result once the
 *  transaction has COMMITTED (durably: "strict" where the browser offers it). ``fn``
 *  must not await anything but requests of ``tx``. */
export async function transaction(stores, mode, fn) {
  const db = await open();
  const tx = db.transaction(stores, mode, { durability: mode === "readwrite" ? "strict" : "default" });
  const committed = new Promise((resolve, reject) => {
    tx.oncomplete = resolve;
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error || new Error("transaction aborted"));
  });
  let result;
  try {
    result = await fn(new Tx(tx));
  } catch (err) {
    try { tx.abort(); } catch { /* already finished */ }
    throw err;
  }
  await committed;
  return result;
}

class Tx {
  constructor(tx) {
    this.tx = tx;
  }
  store(name) {
    return this.tx.objectStore(name);
  }
  get(store, k) {
    return done(this.store(store).get(k));
  }
  put(store, value, k) {
    return done(k === undefined ? this.store(store).put(value) : this.store(store).put(value, k));
  }
  delete(store, k) {
    return done(this.store(store).delete(k));
  }
  all(store) {
    return done(this.store(store).getAll());
  }
  byIndex(store, index, value) {
    return done(this.store(store).index(index).getAll(value));
  }
  count(store) {
    return done(this.store(store).count());
  }
  countIndex(store, index, value) {
    return done(this.store(store).index(index).count(value));
  }
  clear(store) {
    return done(this.store(store).clear());
  }
}

export function read(stores, fn) {
  return transaction(stores, "readonly", fn);
}

export function write(stores, fn) {
  return transaction(stores, "readwrite", fn);
}

export async function getMeta(name) {
  return read(["meta"], (tx) => tx.get("meta", name));
}

export async function records(collection) {
  return read(["records"], (tx) => tx.byIndex("records", "collection", collection));
}

export async function record(collection, id) {
  return read(["records"], (tx) => tx.get("records", key(collection, id)));
}

/** Forget everything (un-enrol this phone). */
export async function wipe() {
  await write(["meta", "records", "outbox", "rejected", "conflicts"], async (tx) => {
    for (const s of ["meta", "records", "outbox", "rejected", "conflicts"]) await tx.clear(s);
  });
}
