import { hashPassword, MIN_SECRET_LENGTH } from './access/credentials.js';

/**
 * `npm run hash-password -w @vigil/backend`: reads a password on stdin (not an argument, which
 * would land in the shell's history and the process list) and prints the
 * `VIGIL_ADMIN_PASSWORD_HASH` value for it.
 */
async function main(): Promise<void> {
  if (process.stdin.isTTY) process.stderr.write('admin password (input shown), then Enter: ');
  let input = '';
  for await (const chunk of process.stdin) {
    input += String(chunk);
    if (input.includes('\n')) break;
  }
  const password = input.split(/\r?\n/)[0] ?? '';
  if (password.length < MIN_SECRET_LENGTH) {
    console.error(`hash-password: the password must be at least ${MIN_SECRET_LENGTH} characters`);
    process.exit(1);
  }
  console.log(hashPassword(password));
}

void main();
