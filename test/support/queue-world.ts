/**
 * A landing queue to test through the real `byoci` command: a bare trunk (main), a
 * contributor's repository with one branch per proposal (each adds its own file), local
 * forge proposal files with their approval times, and a config the test shapes.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { run } from '../../core/process.js';
import { openStore } from '../../store/index.js';
import { QUEUE_MIGRATIONS, queueSnapshot, type QueueSnapshot } from '../../core/queue/index.js';
import { byoci, type CliOptions, type CliResult } from './cli.js';

const GIT_ENV = {
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_AUTHOR_NAME: 'Ada Contributor',
  GIT_AUTHOR_EMAIL: 'ada@example.org',
  GIT_COMMITTER_NAME: 'Ada Contributor',
  GIT_COMMITTER_EMAIL: 'ada@example.org',
};

export interface ProposalData {
  status: string;
  merged_revision?: string;
  comments?: { author: string; subject: string; body: string }[];
  [key: string]: unknown;
}

export interface WorldConfig {
  /** Test command (argv); default: `test -f <file of each proposal>`-free `true`. */
  command?: string[];
  backend?: string;
  timeout?: string;
  /** Extra top-level config (queue:, store:, plugins.lxd…). */
  extra?: Record<string, unknown>;
  /** Target URL instead of the trunk's path (e.g. an ssh:// URL). */
  targetUrl?: string;
  workdir?: string;
}

export class QueueWorld {
  readonly dir: string;
  readonly home: string;
  readonly trunk: string;
  readonly contrib: string;
  readonly proposals: string;
  readonly config: string;
  #work: string;

  private constructor(dir: string) {
    this.dir = dir;
    this.home = join(dir, 'home');
    this.trunk = join(dir, 'trunk.git');
    this.contrib = join(dir, 'contrib.git');
    this.proposals = join(dir, 'proposals');
    this.config = join(dir, 'byoci.yaml');
    this.#work = join(dir, 'clone');
  }

  static async create(tag: string): Promise<QueueWorld> {
    const w = new QueueWorld(mkdtempSync(join(tmpdir(), `byoci-queue-${tag}-`)));
    mkdirSync(w.home);
    mkdirSync(w.proposals);
    await w.git(['init', '-q', '--bare', '-b', 'main', w.trunk]);
    await w.git(['init', '-q', '-b', 'main', w.#work]);
    writeFileSync(join(w.#work, 'README'), 'queue test project\n');
    await w.git(['add', 'README'], w.#work);
    await w.git(['commit', '-q', '-m', 'Initial commit'], w.#work);
    await w.git(['push', '-q', w.trunk, 'main'], w.#work);
    await w.git(['clone', '-q', '--bare', w.#work, w.contrib]);
    return w;
  }

  async git(args: string[], cwd?: string): Promise<string> {
    return (await run(['git', ...args], { cwd: cwd ?? this.dir, env: { ...GIT_ENV, HOME: this.home } })).stdout.trim();
  }

  /** A branch on the contributor's repository adding `<name>.txt`; answers its commit. */
  async branch(name: string, file = `${name}.txt`, content = `${name}\n`): Promise<string> {
    await this.git(['fetch', '-q', this.trunk, 'main'], this.#work);
    await this.git(['checkout', '-q', '-B', name, 'FETCH_HEAD'], this.#work);
    writeFileSync(join(this.#work, file), content);
    await this.git(['add', file], this.#work);
    await this.git(['commit', '-q', '-m', `Add ${name}`], this.#work);
    await this.git(['push', '-q', '-f', this.contrib, `${name}:refs/heads/${name}`], this.#work);
    return this.git(['rev-parse', 'HEAD'], this.#work);
  }

  /** A commit on trunk made by someone else (as a concurrent landing would). */
  async commitOnTrunk(file: string, content = `${file}\n`): Promise<string> {
    await this.git(['fetch', '-q', this.trunk, 'main'], this.#work);
    await this.git(['checkout', '-q', '-B', 'direct', 'FETCH_HEAD'], this.#work);
    writeFileSync(join(this.#work, file), content);
    await this.git(['add', file], this.#work);
    await this.git(['commit', '-q', '-m', `Direct commit ${file}`], this.#work);
    await this.git(['push', '-q', this.trunk, 'HEAD:main'], this.#work);
    return this.git(['rev-parse', 'HEAD'], this.#work);
  }

  /** An approved proposal `<id>` from branch `<branch>`, approved at `approvedAt`. */
  async propose(id: string, branch: string, approvedAt: string, extra: Record<string, unknown> = {}, change?: { file: string; content: string }): Promise<string> {
    const revision = await this.branch(branch, change?.file, change?.content);
    const data = {
      id,
      title: `Proposal ${branch}`,
      source: { repo: this.contrib, branch },
      target: { repo: this.trunk, branch: 'main' },
      approved_revision: revision,
      status: 'Approved',
      date_reviewed: approvedAt,
      commit_message: `Land ${branch}`,
      votes: [{ reviewer: 'rita', vote: 'Approve' }],
      ...extra,
    };
    writeFileSync(join(this.proposals, `${id}.yaml`), stringify(data));
    return revision;
  }

  proposal(id: string): ProposalData {
    return parse(readFileSync(join(this.proposals, `${id}.yaml`), 'utf8')) as ProposalData;
  }

  writeConfig(c: WorldConfig = {}): void {
    const settings = {
      workdir: c.workdir ?? 'runs',
      artefacts: 'artefacts',
      landing: { user: 'lander', fullname: 'Queue Lander', email: 'lander@example.org' },
      secrets: { order: ['env'] },
      plugins: { local: { dir: 'proposals', trusted: ['rita'] } },
      projects: {
        calc: {
          targets: [{ forge: 'local', repo: c.targetUrl ?? this.trunk, branch: 'main' }],
          test: {
            backend: c.backend ?? 'unsafe-host',
            command: c.command ?? ['true'],
            timeout: c.timeout ?? '2m',
          },
        },
      },
      ...(c.extra ?? {}),
    };
    writeFileSync(this.config, stringify(settings));
  }

  land(args: string[] = [], options: CliOptions = {}): Promise<CliResult> {
    return byoci(['--config', this.config, 'land', ...args], { ...options, env: { HOME: this.home, ...options.env } });
  }

  /** Subjects of the landings on main (first-parent merges), oldest first. */
  async landings(): Promise<string[]> {
    const out = await this.git(['--git-dir', this.trunk, 'log', '--first-parent', '--merges', '--reverse', '--format=%s', 'main']);
    return out ? out.split('\n') : [];
  }

  /** What the store says, read the way `byoci queue --json` reads it. */
  snapshot(store = join(this.dir, 'runs', 'byoci.db')): QueueSnapshot {
    const db = openStore(store, { migrations: QUEUE_MIGRATIONS });
    try {
      return queueSnapshot(db);
    } finally {
      db.close();
    }
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
