// A tiny HTTP service to run with the Vigil agent attached: `npm start`
// (node --import @vigil/agent/register server.mjs). The agent's settings are in vigil/config.properties.
import http from 'node:http';

const port = Number(process.env.PORT ?? 3000);

const server = http.createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ hello: 'vigil' }));
  } else if (req.method === 'GET' && req.url === '/healthz') {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('ok');
  } else {
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: 'not found' }));
  }
});

server.listen(port, () => {
  console.log(`demo-service listening on http://localhost:${port}`);
});
