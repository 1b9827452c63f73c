import { githubEvent } from '../brain/events.ts';
import { pushDelivery, SECRET } from '../test/support/brain-process.ts';
import { example } from '../test/brain/helpers.ts';
const d = pushDelivery(example('push'), 1, 'b1', 8192, 'x');
const headers: Record<string, string> = {};
for (const [k, v] of Object.entries(d.prepared!.headers)) headers[k] = v;
const e = await githubEvent(SECRET, headers as any, d.prepared!.bytes);
const s = JSON.stringify(e);
console.log(s.length, s.slice(0, 600));
