/**
 * `npm run demo`: a real landing, end to end, on the embedded local forge. No account, no
 * server. Creates a temporary directory with a trunk, a contributor's repository and two
 * approved proposals, runs `byoci land`, and shows what happened and where to look.
 *
 * Tests run in the best container backend this machine has: LXD (with the hostusr image),
 * else bubblewrap, else util-linux unshare namespaces, else on the host (the demo's own
 * generated code only; NOT ISOLATED). Override with BYOCI_DEMO_BACKEND=lxd|bwrap|unshare|unsafe-host.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { createDemo } from './setup.js';

const LXD_SOCKET = process.env.LXD_SOCKET ?? join(process.env.LXD_DIR ?? '/var/lib/lxd', 'unix.socket');

function lxdHasImage(alias: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ socketPath: LXD_SOCKET, path: `/1.0/images/aliases/${alias}`, timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => {
      req.destroy();
      resolve(false);
    });
    req.end();
  });
}

function bwrapWorks(): boolean {
  const r = spawnSync('bwrap', ['--unshare-all', '--ro-bind', '/', '/', '--dev', '/dev', '--proc', '/proc', 'true'], { stdio: 'ignore' });
  return r.status === 0;
}

function unshareWorks(): boolean {
  const userns = process.getuid?.() !== 0 ? ['--user', '--map-root-user'] : [];
  const r = spawnSync('unshare', [...userns, '--net', '--pid', '--fork', '--mount', '--ipc', '--uts', 'true'], { stdio: 'ignore' });
  return r.status === 0;
}

async function chooseBackend(): Promise<{ backend: string; image?: string; why: string }> {
  const forced = process.env.BYOCI_DEMO_BACKEND;
  if (forced) return { backend: forced, ...(forced === 'lxd' ? { image: 'hostusr' } : {}), why: 'BYOCI_DEMO_BACKEND' };
  if (await lxdHasImage('hostusr')) return { backend: 'lxd', image: 'hostusr', why: 'LXD answers and has the hostusr image' };
  if (bwrapWorks()) return { backend: 'bwrap', why: 'no LXD daemon with the hostusr image; bubblewrap works' };
  if (unshareWorks()) return { backend: 'unshare', why: 'neither LXD with the hostusr image nor bubblewrap; util-linux unshare makes the namespaces' };
  return {
    backend: 'unsafe-host',
    why: 'neither LXD (scripts/lxd-up.sh), bubblewrap (apt-get install bubblewrap) nor unshare namespaces are available: the demo\'s own tests run on the host, NOT ISOLATED',
  };
}

function say(text = ''): void {
  process.stdout.write(text + '\n');
}

async function main(): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'byoci-demo-'));
  const choice = await chooseBackend();
  const demo = await createDemo(dir, { backend: choice.backend, ...(choice.image ? { image: choice.image } : {}) });
  say(`byoci demo in ${dir}`);
  say(`  trunk:      ${demo.trunk} (branch main)`);
  say(`  proposals:  ${demo.proposals}/1.yaml (Add multiplication), 2.yaml (Simplify addition)`);
  say(`  config:     ${demo.config}`);
  say(`  tests run:  ${choice.backend} (${choice.why})`);
  say();
  say('$ byoci --config byoci.yaml land');
  // Built (npm run demo): dist/cli/main.js beside dist/demo; from the sources (a test runs
  // demo/demo.ts through tsx): cli/main.ts, through tsx as well.
  const here = dirname(fileURLToPath(import.meta.url));
  const built = join(here, '..', 'cli', 'main.js');
  const cli = existsSync(built) ? [built] : ['--import', import.meta.resolve('tsx'), join(here, '..', 'cli', 'main.ts')];
  const land = spawnSync(process.execPath, [...cli, '--config', demo.config, 'land'], { stdio: 'inherit', cwd: dir });
  say(`(exit code ${land.status}: 1 means a proposal was rejected, as expected here)`);
  say();

  const log = spawnSync('git', ['--git-dir', demo.trunk, 'log', '--format=%h %an <%ae>%n    %s%n%w(0,4,4)%b', '-n', '3', 'main'], { encoding: 'utf8' });
  say('Trunk after the landing (git log main):');
  say(log.stdout.trimEnd());
  say();
  let ok = land.status === 1 && log.stdout.includes('Merged from');
  for (const id of ['1', '2']) {
    const file = join(demo.proposals, `${id}.yaml`);
    const data = parse(readFileSync(file, 'utf8')) as { title: string; status: string; comments?: { subject: string; body: string }[] };
    say(`Proposal ${id} (${data.title}): status ${data.status}`);
    const last = data.comments?.[data.comments.length - 1];
    if (last && data.status !== 'Approved') say(`  last comment: ${last.subject}\n${last.body.replace(/^/gm, '    ')}`);
    ok &&= id === '1' ? data.status === 'Merged' : data.status === 'Needs review';
  }
  say();
  say('Where to look:');
  say(`  git --git-dir ${demo.trunk} log --graph --oneline main`);
  say(`  cat ${demo.proposals}/2.yaml      # the rejection comment`);
  say(`  ls -R ${join(dir, 'artefacts')}    # JUnit reports copied back from the test runs`);
  say(`  byoci --config ${demo.config} list   # (npx byoci, or node dist/cli/main.js)`);
  say(ok ? '\ndemo: OK (one proposal landed, one rejected)' : '\ndemo: UNEXPECTED RESULT (see above)');
  return ok ? 0 : 1;
}

process.exitCode = await main();
