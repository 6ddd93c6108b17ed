// Loaded first by the demo's `npm start` (`node --import ./wait-for-backend.mjs --import
// @vigil/agent/register server.mjs`), which the repo's `npm start` runs beside the backend: points
// the agent at that backend and holds the start until it answers /healthz, so a normal start has
// no failed first beat. Node loads --import modules one after another, each to its end, so the
// agent starts only after this one.
// The backend listens on its VIGIL_PORT (both processes get the same environment), unless
// VIGIL_BACKEND_URL names another.
process.env.VIGIL_BACKEND_URL ??= `http://127.0.0.1:${process.env.VIGIL_PORT ?? 8900}`;

// The first of several backends is enough to know the one started beside us is up.
const first = process.env.VIGIL_BACKEND_URL.split(',')[0].trim();
const healthz = new URL('healthz', first.endsWith('/') ? first : `${first}/`).href;
/** Past this, the demo starts anyway: the agent keeps retrying, and warns if the backend stays away. */
const MAX_WAIT_MS = 60_000;
const POLL_MS = 200;

async function backendUp() {
  try {
    return (await fetch(healthz, { signal: AbortSignal.timeout(2_000) })).ok;
  } catch {
    return false;
  }
}

const deadline = Date.now() + MAX_WAIT_MS;
let said = false;
while (!(await backendUp())) {
  if (Date.now() >= deadline) {
    console.log(`demo-service: no answer from ${healthz} after ${MAX_WAIT_MS / 1000} s; starting anyway`);
    break;
  }
  if (!said) console.log(`demo-service: waiting for the backend at ${healthz}`);
  said = true;
  await new Promise((resolve) => setTimeout(resolve, POLL_MS));
}
