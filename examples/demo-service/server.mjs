// A tiny HTTP service to run with the Vigil agent attached: `npm start`
// (node --import @vigil/agent/register server.mjs). The agent's settings are in vigil/config.properties.
//
// Worth trying on the dashboard:
//   DEMO_HEALTH=down npm start                          start with the (pretend) database down
//   curl -X POST localhost:3000/demo/db/down            the database goes down: the instance turns unhealthy
//   curl -X POST localhost:3000/demo/db/degraded        slow: the instance stays healthy, flagged degraded
//   curl -X POST localhost:3000/demo/db/up              back up: healthy again
//   curl -X POST 'localhost:3000/demo/load?seconds=20'  busy for 20 s: CPU and event-loop delay climb
import http from 'node:http';
import { HealthService, ServiceManager } from '@vigil/agent';

const port = Number(process.env.PORT ?? 3000);
const STATUSES = ['up', 'degraded', 'down'];

// The service's own health indicator, as an application reports it without writing a plugin: the
// running agent's HealthService. Here a pretend database whose state the /demo/db routes set.
let db = { status: STATUSES.includes(process.env.DEMO_HEALTH) ? process.env.DEMO_HEALTH : 'up', since: new Date().toISOString() };
try {
  ServiceManager.getService(HealthService).setIndicator('orders-db', () => ({
    status: db.status,
    details: { host: 'orders-db.internal:5432', since: db.since, ...(db.status === 'up' ? {} : { error: `database ${db.status}` }) },
  }));
} catch (error) {
  // Started without the agent (plain `node server.mjs`): the service runs all the same.
  console.warn(`no health indicator: ${error.message}`);
}

/** Keeps the event loop busy 80 ms in every 100 ms for `seconds`: a service under load. */
function load(seconds) {
  const until = Date.now() + seconds * 1000;
  const timer = setInterval(() => {
    const end = Date.now() + 80;
    while (Date.now() < end);
    if (Date.now() >= until) clearInterval(timer);
  }, 100);
}

const json = (res, status, body) => {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
};

const server = http.createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const dbRoute = /^\/demo\/db\/(up|degraded|down)$/.exec(url.pathname);
  if (req.method === 'GET' && url.pathname === '/') {
    json(res, 200, { hello: 'vigil' });
  } else if (req.method === 'GET' && url.pathname === '/healthz') {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('ok');
  } else if (req.method === 'POST' && dbRoute !== null) {
    db = { status: dbRoute[1], since: new Date().toISOString() };
    json(res, 200, { db: db.status });
  } else if (req.method === 'POST' && url.pathname === '/demo/load') {
    const seconds = Number(url.searchParams.get('seconds') ?? 10);
    if (!Number.isFinite(seconds) || seconds <= 0 || seconds > 600) {
      json(res, 400, { error: 'seconds must be a number above 0, at most 600' });
      return;
    }
    load(seconds);
    json(res, 202, { loadFor: seconds });
  } else {
    json(res, 404, { error: 'not found' });
  }
});

server.listen(port, () => {
  console.log(`demo-service listening on http://localhost:${port}`);
});
