/**
 * README shell snippets as steps, and one bash session to run them in, so a test can run the README's
 * commands exactly as written (variables set by one step are seen by the next, as in a terminal) and look
 * at each step's output on its own.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Step {
  /** The command as written: continuation lines and a heredoc's body included. */
  command: string;
  /** The README's `# → …` line right after it: what it prints ("…" stands for anything). */
  shows?: string;
}

/** The README's ```sh blocks, in order. */
export function readmeShellBlocks(file = join(__dirname, '../../README.md')): string[] {
  return [...readFileSync(file, 'utf8').matchAll(/^```sh\n([\s\S]*?)^```$/gm)].map((m) => m[1]);
}

/**
 * One step per command: a line, plus the lines it continues onto (trailing `\`) or the heredoc it opens.
 * Blank lines and comment lines are not steps; a `# → …` comment is the previous step's shown output.
 */
export function splitSteps(block: string): Step[] {
  const steps: Step[] = [];
  let lines: string[] = [];
  let heredoc: string | null = null;
  const end = () => {
    steps.push({ command: lines.join('\n') });
    lines = [];
  };
  for (const line of block.split('\n')) {
    if (heredoc !== null) {
      lines.push(line);
      if (line === heredoc) {
        heredoc = null;
        end();
      }
      continue;
    }
    if (lines.length === 0) {
      const shows = /^#\s*→\s*(.*)$/.exec(line.trim());
      if (shows && steps.length) steps[steps.length - 1].shows = shows[1];
      if (line.trim() === '' || line.trim().startsWith('#')) continue;
    }
    lines.push(line);
    const opens = /<<-?\s*'?(\w+)'?/.exec(line);
    if (opens) heredoc = opens[1];
    else if (!line.endsWith('\\')) end();
  }
  if (lines.length) throw new Error(`unterminated command in README block:\n${lines.join('\n')}`);
  return steps;
}

/** `shows` as a pattern matching the whole output: "…" matches anything within a JSON string. */
export function showsPattern(shows: string): RegExp {
  const parts = shows.split('…').map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(`^${parts.join('[^"]*')}$`);
}

export interface Ran {
  stdout: string;
  stderr: string;
  code: number;
}

/** A bash process fed one step at a time; a step's end is marked by a line only the session prints. */
export class Shell {
  private readonly proc: ChildProcessWithoutNullStreams;
  private stdout = '';
  private stderr = '';
  private n = 0;
  private exited: string | null = null;

  constructor(cwd: string, env: NodeJS.ProcessEnv) {
    this.proc = spawn('bash', ['--noprofile', '--norc'], { cwd, env, stdio: 'pipe' });
    this.proc.stdout.on('data', (c) => (this.stdout += c));
    this.proc.stderr.on('data', (c) => (this.stderr += c));
    this.proc.on('exit', (code) => (this.exited = `bash exited (${code})`));
  }

  run(command: string, timeoutMs = 10_000): Promise<Ran> {
    const marker = `__readme_step_${++this.n}_done__`;
    this.stdout = '';
    this.stderr = '';
    // The leading newline ends output that has none of its own (curl's JSON), so the marker starts a line.
    this.proc.stdin.write(`${command}\nprintf '\\n${marker} %d\\n' $?\n`);
    const done = new RegExp(`\\n${marker} (\\d+)\\n$`);
    return new Promise((resolve, reject) => {
      const started = Date.now();
      const poll = () => {
        const m = done.exec(this.stdout);
        if (m) return resolve({ stdout: this.stdout.slice(0, m.index), stderr: this.stderr, code: Number(m[1]) });
        if (this.exited || Date.now() - started > timeoutMs) {
          return reject(new Error(`${this.exited ?? 'timed out'} running:\n${command}\nstdout: ${this.stdout}\nstderr: ${this.stderr}`));
        }
        setTimeout(poll, 20);
      };
      poll();
    });
  }

  close(): void {
    this.proc.stdin.end();
    if (!this.exited) this.proc.kill();
  }
}
