// One writer at a time across the app's tabs (Web Locks), so a save and a sync never
// interleave their reads and writes of the outbox. Where Web Locks are missing, a
// promise chain serialises this tab.

let chain = Promise.resolve();

export function exclusive(fn, name = "gridsync-field-write") {
  if (navigator.locks) return navigator.locks.request(name, fn);
  const run = chain.then(fn, fn);
  chain = run.catch(() => {});
  return run;
}
