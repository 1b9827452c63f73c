/**
 * `node --import tsx scripts/lxd-image.ts build <recipe> | list`: the image commands without
 * the CLI build (used by scripts/lxd-up.sh and .ci/setup.d/20-lxd.sh on a fresh clone).
 */
import { createLogger } from '../core/index.js';
import { formatImageTable, imageBuild, imageList } from '../plugins/lxd/index.js';

const log = createLogger({});
const [verb, recipe] = process.argv.slice(2);
const socket = process.env.BYOCI_LXD_SOCKET;
if (verb === 'build' && recipe) {
  const result = await imageBuild(recipe, { log, ...(socket ? { socket } : {}) });
  console.log(`${result.alias} ${result.fingerprint.slice(0, 12)} ${result.bytes} bytes`);
} else if (verb === 'list') {
  for (const line of formatImageTable(await imageList({ log, ...(socket ? { socket } : {}) }))) console.log(line);
} else {
  console.error('usage: node --import tsx scripts/lxd-image.ts build <hostusr|busybox|debootstrap> | list');
  process.exit(2);
}
