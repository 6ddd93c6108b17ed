/**
 * "From elsewhere" without another host: a network namespace of the test's own, joined to this
 * one by a veth pair. A TCP relay inside it forwards to a backend bound to 0.0.0.0, which sees the
 * namespace's address as the peer, as it would a remote client's. Clients (fetch, a browser, an
 * agent) reach the backend through the relay's URL. Needs root and `ip` (iproute2; `.ci/run`
 * installs it); without them the tests fail, naming why.
 */
import { execFileSync } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { startProcess, waitFor, type Backend, type Proc } from './harness.js';

interface Namespace {
  name: string;
  /** This side of the veth pair: where the relay connects to the backend. */
  hostAddress: string;
  /** The namespace's side: the address the backend sees. */
  address: string;
}

let namespace: Namespace | undefined;
const relays = new Map<string, { proc: Proc; url: string }>();

const ip = (...args: string[]) => execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });

function removeNamespace(): void {
  if (namespace === undefined) return;
  // Deleting the namespace deletes its end of the veth pair, and with it the other end.
  try {
    ip('netns', 'del', namespace.name);
  } catch {
    // Already gone.
  }
  namespace = undefined;
}
process.on('exit', removeNamespace);

function createNamespace(): Namespace {
  // A random /30 in 10.222.0.0/16, and names of this process: other test runs may share the machine.
  const block = randomInt(0, 16_384) * 4;
  const prefix = `10.222.${block >> 8}.`;
  const tag = `${process.pid.toString(36)}${randomInt(0, 1296).toString(36)}`.slice(-8);
  const created: Namespace = {
    name: `vigil-e2e-${tag}`,
    hostAddress: `${prefix}${(block & 255) + 1}`,
    address: `${prefix}${(block & 255) + 2}`,
  };
  const [outside, inside] = [`vgo${tag}`, `vgi${tag}`];
  try {
    ip('netns', 'add', created.name);
    namespace = created;
    ip('link', 'add', outside, 'type', 'veth', 'peer', 'name', inside);
    ip('link', 'set', inside, 'netns', created.name);
    ip('addr', 'add', `${created.hostAddress}/30`, 'dev', outside);
    ip('link', 'set', outside, 'up');
    ip('-n', created.name, 'addr', 'add', `${created.address}/30`, 'dev', inside);
    ip('-n', created.name, 'link', 'set', inside, 'up');
    ip('-n', created.name, 'link', 'set', 'lo', 'up');
  } catch (error) {
    removeNamespace();
    try {
      ip('link', 'del', outside);
    } catch {
      // Not created, or gone with the namespace.
    }
    const stderr = (error as { stderr?: Buffer }).stderr?.toString().trim();
    throw new Error(
      `the "from elsewhere" tests need a network namespace of their own (root and iproute2's ip): ${stderr || String(error)}`,
      { cause: error },
    );
  }
  return created;
}

/** A relay listening in the namespace, forwarding every connection to `host:port`. */
const RELAY = [
  "const net = require('node:net');",
  'const [listenOn, host, port] = process.argv.slice(1);',
  'net.createServer((client) => {',
  '  const upstream = net.connect(Number(port), host);',
  '  client.pipe(upstream).pipe(client);',
  '  const close = () => { client.destroy(); upstream.destroy(); };',
  "  client.on('error', close).on('close', close);",
  "  upstream.on('error', close).on('close', close);",
  "}).listen(0, listenOn, function () { console.log('relay ' + this.address().port); });",
].join('\n');

/** How a client reaches `backend` from the namespace's address: the relay's URL (no headers needed). */
export async function elsewhere(backend: Backend): Promise<{ url: string; headers: Record<string, string> }> {
  namespace ??= createNamespace();
  const known = relays.get(backend.url);
  if (known !== undefined && known.proc.child.exitCode === null && known.proc.child.signalCode === null)
    return { url: known.url, headers: {} };
  const { port } = new URL(backend.url);
  const proc = startProcess(
    'ip',
    ['netns', 'exec', namespace.name, process.execPath, '-e', RELAY, namespace.address, namespace.hostAddress, port],
    {},
  );
  const relayPort = await waitFor(
    `the relay in ${namespace.name} (output: ${proc.output()})`,
    () => /relay (\d+)/.exec(proc.stdout())?.[1],
  );
  const url = `http://${namespace.address}:${relayPort}`;
  relays.set(backend.url, { proc, url });
  return { url, headers: {} };
}

/** Removes the namespace (and its veth pair); run after the file's tests. */
export function leaveElsewhere(): void {
  for (const { proc } of relays.values()) proc.child.kill('SIGKILL');
  relays.clear();
  removeNamespace();
}
