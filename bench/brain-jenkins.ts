/**
 * The fake Jenkins of bench:brain in a process of its own (it is not the system under
 * test: in the bench client's process its work would delay the client's event loop and
 * inflate the latencies the client measures). test/support/jenkins-server.ts with the
 * options given as JSON in BENCH_JENKINS; prints its URL on stdout. Over the IPC channel,
 * the message 'report' is answered with what the bench counts: each build's REVISION
 * parameter (in queue order) and the requests answered 503 and those whose answer was lost.
 * Run by bench/brain.ts.
 */
import { startJenkinsServer, type JenkinsServerOptions } from '../test/support/jenkins-server.js';

export interface JenkinsReport {
  revisions: string[];
  refused: number;
  lostAnswers: number;
}

const options = JSON.parse(process.env.BENCH_JENKINS ?? '{}') as JenkinsServerOptions;
const jenkins = await startJenkinsServer(options);
process.on('message', (m) => {
  if (m === 'report') {
    const report: JenkinsReport = {
      revisions: jenkins.builds.map((b) => b.params.REVISION ?? ''),
      refused: jenkins.requests.filter((r) => r.status === 503).length,
      lostAnswers: jenkins.requests.filter((r) => r.status === 0).length,
    };
    process.send?.(report);
  } else if (m === 'close') {
    void jenkins.close().then(() => process.disconnect());
  }
});
process.stdout.write(`${jenkins.url}\n`);
